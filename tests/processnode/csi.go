package processnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// csiManager talks to the CSI driver's node service: it stages a volume
// once per node (reference-counted over the pods using it) and publishes
// it once per pod.
type csiManager struct {
	driver   string
	endpoint string
	root     string // StateDir/csi
	client   kubernetes.Interface

	mu       sync.Mutex
	conn     *grpc.ClientConn
	canStage *bool
	staged   map[string]*stagedVolume // by volume handle
}

type stagedVolume struct {
	path string
	refs map[string]bool // publication keys (pod UID/volume name)
}

// csiPublished is one NodePublishVolume done for a pod volume.
type csiPublished struct {
	key, volumeID, stagingPath, targetPath string
	readOnly                               bool
}

// csiRequest describes one pod volume to publish.
type csiRequest struct {
	key      string
	pv       *corev1.PersistentVolume
	readOnly bool
	target   string
	pod      *corev1.Pod
}

func (m *csiManager) node() (csi.NodeClient, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.endpoint == "" {
		return nil, errors.New("no CSI endpoint configured")
	}
	if m.conn == nil {
		conn, err := grpc.NewClient(m.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("connect to CSI driver at %s: %w", m.endpoint, err)
		}
		m.conn = conn
	}
	return csi.NewNodeClient(m.conn), nil
}

func (m *csiManager) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		_ = m.conn.Close()
		m.conn = nil
	}
}

// stageSupported asks the driver once for STAGE_UNSTAGE_VOLUME.
func (m *csiManager) stageSupported(ctx context.Context, nc csi.NodeClient) (bool, error) {
	m.mu.Lock()
	known := m.canStage
	m.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	resp, err := nc.NodeGetCapabilities(ctx, &csi.NodeGetCapabilitiesRequest{})
	if err != nil {
		return false, fmt.Errorf("NodeGetCapabilities: %w", err)
	}
	can := false
	for _, c := range resp.GetCapabilities() {
		if c.GetRpc().GetType() == csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME {
			can = true
		}
	}
	m.mu.Lock()
	m.canStage = &can
	m.mu.Unlock()
	return can, nil
}

// publish stages (if the driver stages and this volume is not staged yet)
// and publishes the volume at r.target.
func (m *csiManager) publish(ctx context.Context, r csiRequest) (csiPublished, error) {
	src := r.pv.Spec.CSI
	nc, err := m.node()
	if err != nil {
		return csiPublished{}, err
	}
	canStage, err := m.stageSupported(ctx, nc)
	if err != nil {
		return csiPublished{}, err
	}
	capability := volumeCapability(r.pv)
	p := csiPublished{key: r.key, volumeID: src.VolumeHandle, targetPath: r.target, readOnly: r.readOnly}
	if canStage {
		sum := sha256.Sum256([]byte(src.VolumeHandle))
		p.stagingPath = filepath.Join(m.root, hex.EncodeToString(sum[:]), "globalmount")
		if err := m.stage(ctx, nc, r, p.stagingPath, capability); err != nil {
			return csiPublished{}, err
		}
	}
	secrets, err := m.secrets(ctx, src.NodePublishSecretRef)
	if err != nil {
		return csiPublished{}, err
	}
	if err := os.MkdirAll(filepath.Dir(r.target), 0o755); err != nil {
		return csiPublished{}, fmt.Errorf("create publish parent dir: %w", err)
	}
	_, err = nc.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: src.VolumeHandle, StagingTargetPath: p.stagingPath, TargetPath: r.target,
		VolumeCapability: capability, Readonly: r.readOnly, Secrets: secrets,
		VolumeContext: m.volumeContext(ctx, r),
	})
	if err != nil {
		m.release(ctx, nc, p)
		return csiPublished{}, fmt.Errorf("NodePublishVolume %s: %w", src.VolumeHandle, err)
	}
	return p, nil
}

func (m *csiManager) stage(ctx context.Context, nc csi.NodeClient, r csiRequest, path string, capability *csi.VolumeCapability) error {
	src := r.pv.Spec.CSI
	m.mu.Lock()
	sv, ok := m.staged[src.VolumeHandle]
	if ok {
		sv.refs[r.key] = true
	}
	m.mu.Unlock()
	if ok {
		return nil
	}
	secrets, err := m.secrets(ctx, src.NodeStageSecretRef)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("create staging dir: %w", err)
	}
	_, err = nc.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{
		VolumeId: src.VolumeHandle, StagingTargetPath: path, VolumeCapability: capability,
		Secrets: secrets, VolumeContext: src.VolumeAttributes,
	})
	if err != nil {
		return fmt.Errorf("NodeStageVolume %s: %w", src.VolumeHandle, err)
	}
	m.mu.Lock()
	if sv, ok := m.staged[src.VolumeHandle]; ok { // staged concurrently
		sv.refs[r.key] = true
	} else {
		m.staged[src.VolumeHandle] = &stagedVolume{path: path, refs: map[string]bool{r.key: true}}
	}
	m.mu.Unlock()
	return nil
}

// unpublish undoes publish: NodeUnpublishVolume, then NodeUnstageVolume
// when no other pod uses the volume.
func (m *csiManager) unpublish(ctx context.Context, p csiPublished) error {
	nc, err := m.node()
	if err != nil {
		return err
	}
	if _, err := nc.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: p.volumeID, TargetPath: p.targetPath}); err != nil {
		return fmt.Errorf("NodeUnpublishVolume %s: %w", p.volumeID, err)
	}
	_ = os.Remove(p.targetPath) // only if empty: never deletes volume data
	return m.release(ctx, nc, p)
}

// release drops p's staging reference and unstages the volume when unused.
func (m *csiManager) release(ctx context.Context, nc csi.NodeClient, p csiPublished) error {
	if p.stagingPath == "" {
		return nil
	}
	m.mu.Lock()
	sv, ok := m.staged[p.volumeID]
	if ok {
		delete(sv.refs, p.key)
		ok = len(sv.refs) == 0
		if ok {
			delete(m.staged, p.volumeID)
		}
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if _, err := nc.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: p.volumeID, StagingTargetPath: sv.path}); err != nil {
		return fmt.Errorf("NodeUnstageVolume %s: %w", p.volumeID, err)
	}
	_ = os.Remove(sv.path)
	_ = os.Remove(filepath.Dir(sv.path))
	return nil
}

// volumeCapability is a mount capability with the access mode derived from
// the PV's access modes (ReadOnlyMany alone is a reader-only mode).
func volumeCapability(pv *corev1.PersistentVolume) *csi.VolumeCapability {
	mode := csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	modes := pv.Spec.AccessModes
	switch {
	case hasMode(modes, corev1.ReadWriteMany):
		mode = csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	case hasMode(modes, corev1.ReadWriteOnce):
		mode = csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	case hasMode(modes, corev1.ReadWriteOncePod):
		mode = csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
	case hasMode(modes, corev1.ReadOnlyMany):
		mode = csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	}
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{
			FsType: pv.Spec.CSI.FSType, MountFlags: pv.Spec.MountOptions,
		}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

func hasMode(modes []corev1.PersistentVolumeAccessMode, m corev1.PersistentVolumeAccessMode) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

// onlyReadOnlyMany reports whether a PV can only be mounted read-only.
func onlyReadOnlyMany(modes []corev1.PersistentVolumeAccessMode) bool {
	return len(modes) > 0 && !hasMode(modes, corev1.ReadWriteOnce) &&
		!hasMode(modes, corev1.ReadWriteMany) && !hasMode(modes, corev1.ReadWriteOncePod)
}

func (m *csiManager) secrets(ctx context.Context, ref *corev1.SecretReference) (map[string]string, error) {
	if ref == nil {
		return nil, nil
	}
	s, err := m.client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("CSI secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out, nil
}

// volumeContext is the PV's volume attributes, plus the pod's identity when
// the CSIDriver object asks for podInfoOnMount.
func (m *csiManager) volumeContext(ctx context.Context, r csiRequest) map[string]string {
	out := map[string]string{}
	for k, v := range r.pv.Spec.CSI.VolumeAttributes {
		out[k] = v
	}
	d, err := m.client.StorageV1().CSIDrivers().Get(ctx, m.driver, metav1.GetOptions{})
	if err == nil && ptrTrue(d.Spec.PodInfoOnMount) {
		out["csi.storage.k8s.io/pod.name"] = r.pod.Name
		out["csi.storage.k8s.io/pod.namespace"] = r.pod.Namespace
		out["csi.storage.k8s.io/pod.uid"] = string(r.pod.UID)
		out["csi.storage.k8s.io/serviceAccount.name"] = serviceAccountName(r.pod)
		out["csi.storage.k8s.io/ephemeral"] = "false"
	}
	return out
}
