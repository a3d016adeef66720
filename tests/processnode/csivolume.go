package processnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// prepareCSI resolves PVC -> bound PV -> CSI source and publishes the
// volume at dir. It fails (and is retried) while the PVC is not Bound.
func (w *podWorker) prepareCSI(volName, claim string, claimReadOnly bool, dir string) (volumeSource, error) {
	if p, ok := w.vols.csi[volName]; ok {
		return volumeSource{path: dir, readOnly: p.readOnly}, nil
	}
	pod := w.currentPod()
	pvc, err := w.n.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(w.ctx, claim, metav1.GetOptions{})
	if err != nil {
		return volumeSource{}, fmt.Errorf("waiting for PVC %s: %w", claim, err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return volumeSource{}, fmt.Errorf("waiting for PVC %s to be bound (phase %s)", claim, pvc.Status.Phase)
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return volumeSource{}, fmt.Errorf("PVC %s: block volumes are not supported", claim)
	}
	pv, err := w.n.client.CoreV1().PersistentVolumes().Get(w.ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return volumeSource{}, fmt.Errorf("PV %s of PVC %s: %w", pvc.Spec.VolumeName, claim, err)
	}
	if pv.Spec.CSI == nil {
		return volumeSource{}, fmt.Errorf("PV %s is not a CSI volume", pv.Name)
	}
	if pv.Spec.CSI.Driver != w.n.cfg.CSIDriverName {
		return volumeSource{}, fmt.Errorf("PV %s uses CSI driver %s; this node has only %s", pv.Name, pv.Spec.CSI.Driver, w.n.cfg.CSIDriverName)
	}
	ro := claimReadOnly || pv.Spec.CSI.ReadOnly || onlyReadOnlyMany(pv.Spec.AccessModes)
	ctx, cancel := context.WithTimeout(w.ctx, 2*time.Minute)
	defer cancel()
	p, err := w.n.csi.publish(ctx, csiRequest{key: string(w.uid) + "/" + volName, pv: pv, readOnly: ro, target: dir, pod: pod})
	if err != nil {
		return volumeSource{}, fmt.Errorf("PVC %s: %w", claim, err)
	}
	w.vols.csi[volName] = p
	return volumeSource{path: dir, readOnly: ro}, nil
}

// teardown unpublishes every CSI volume of the pod; what failed stays
// recorded so that a later call retries it.
func (v *podVolumes) teardown(ctx context.Context, m *csiManager) error {
	var errs []error
	for name, p := range v.csi {
		if err := m.unpublish(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("volume %s: %w", name, err))
			continue
		}
		delete(v.csi, name)
	}
	return errors.Join(errs...)
}

// registerCSINode records the driver in the node's CSINode object and node
// annotation and labels the node with the driver's topology, as the kubelet
// does when a driver registers. It retries until ctx ends.
func (n *Node) registerCSINode(ctx context.Context) {
	if n.cfg.CSIEndpoint == "" || n.cfg.CSIDriverName == "" {
		return
	}
	for {
		err := n.tryRegisterCSINode(ctx)
		if err == nil {
			return
		}
		klog.FromContext(ctx).V(2).Info("CSI driver not registered yet", "reason", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func (n *Node) tryRegisterCSINode(ctx context.Context) error {
	nc, err := n.csi.node()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := nc.NodeGetInfo(cctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		return fmt.Errorf("NodeGetInfo: %w", err)
	}
	segments := info.GetAccessibleTopology().GetSegments()
	keys := sortedKeys(segments)
	if err := n.labelNodeForCSI(ctx, info.GetNodeId(), segments); err != nil {
		return err
	}
	node, err := n.client.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	driver := storagev1.CSINodeDriver{Name: n.cfg.CSIDriverName, NodeID: info.GetNodeId(), TopologyKeys: keys}
	if max := info.GetMaxVolumesPerNode(); max > 0 {
		c := int32(max)
		driver.Allocatable = &storagev1.VolumeNodeResources{Count: &c}
	}
	csiNodes := n.client.StorageV1().CSINodes()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := csiNodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = csiNodes.Create(ctx, &storagev1.CSINode{
				ObjectMeta: metav1.ObjectMeta{Name: n.cfg.NodeName, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}}},
				Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{driver}},
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		drivers := []storagev1.CSINodeDriver{driver}
		for _, d := range cur.Spec.Drivers {
			if d.Name != driver.Name {
				drivers = append(drivers, d)
			}
		}
		cur.Spec.Drivers = drivers
		_, err = csiNodes.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func (n *Node) labelNodeForCSI(ctx context.Context, nodeID string, segments map[string]string) error {
	nodes := n.client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := nodes.Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node: %w", err)
		}
		ids := map[string]string{}
		if s := node.Annotations["csi.volume.kubernetes.io/nodeid"]; s != "" {
			_ = json.Unmarshal([]byte(s), &ids)
		}
		ids[n.cfg.CSIDriverName] = nodeID
		b, err := json.Marshal(ids)
		if err != nil {
			return fmt.Errorf("encode node ids: %w", err)
		}
		if node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		node.Annotations["csi.volume.kubernetes.io/nodeid"] = string(b)
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for k, v := range segments {
			node.Labels[k] = v
		}
		_, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}
