package processnode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/snapflow/snapflow/tests/csidriver"
)

const testDriver = "csi.snapflow.dev"

// startDriver runs the project's CSI driver and creates one volume in it.
func startDriver(ctx context.Context, t *testing.T) (endpoint, volumeID string) {
	t.Helper()
	endpoint = "unix://" + filepath.Join(t.TempDir(), "csi.sock")
	done := make(chan error, 1)
	go func() {
		done <- csidriver.Run(ctx, csidriver.Config{Name: testDriver, NodeID: "n1", DataDir: t.TempDir(), Version: "test"}, endpoint)
	}()
	t.Cleanup(func() { <-done })
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var resp *csi.CreateVolumeResponse
	var createErr error
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		resp, createErr = csi.NewControllerClient(conn).CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name:               "pv1",
			CapacityRange:      &csi.CapacityRange{RequiredBytes: 1 << 20},
			VolumeCapabilities: []*csi.VolumeCapability{volumeCapability(testPV("", nil))},
		})
		return createErr == nil, nil
	}); err != nil {
		t.Fatalf("CreateVolume: %v (%v)", createErr, err)
	}
	return endpoint, resp.GetVolume().GetVolumeId()
}

func testPV(handle string, modes []corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1"},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes: modes,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: testDriver, VolumeHandle: handle,
			}},
		},
	}
}

func pvcPod(name, mnt string, readOnly bool, script string) *corev1.Pod {
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName: "n1", RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &no,
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: readOnly},
			}}},
			Containers: []corev1.Container{{
				Name: "main", Command: []string{"sh", "-c", script},
				Env:          []corev1.EnvVar{{Name: "MNT", Value: mnt}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: mnt}},
			}},
		},
	}
}

func TestNodePublishesCSIVolumes(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The driver outlives the node: the node unstages its volumes as it
	// stops, and a driver stopped at the same time would leave them mounted.
	driverCtx, stopDriver := context.WithCancel(context.Background())
	endpoint, volumeID := startDriver(driverCtx, t)
	t.Cleanup(stopDriver) // runs before startDriver's wait for the driver to end
	client := fake.NewClientset(
		testPV(volumeID, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}),
		&corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
			Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
		},
	)
	cfg := Config{NodeName: "n1", StateDir: t.TempDir(), ListenAddr: "127.0.0.1:0",
		APIServerHost: "127.0.0.1", APIServerPort: 6443, SelfExe: self,
		CSIDriverName: testDriver, CSIEndpoint: endpoint}
	n, err := New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-n.Ready()

	mnt := filepath.Join(t.TempDir(), "mnt")
	writer := pvcPod("writer", mnt, false, `echo persisted > $MNT/file && cat $MNT/file`)
	if _, err := client.CoreV1().Pods("default").Create(ctx, writer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "writer", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodPending && strings.Contains(p.Status.Message, "waiting for PVC data to be bound")
	})
	pvc, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvc.Spec.VolumeName, pvc.Status.Phase = "pv1", corev1.ClaimBound
	if _, err := client.CoreV1().PersistentVolumeClaims("default").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := waitPod(t, client, "writer", func(p *corev1.Pod) bool { return isTerminal(p.Status.Phase) })
	if b, _ := os.ReadFile(logPath(n.podDir(w.UID), "main", false)); w.Status.Phase != corev1.PodSucceeded || string(b) != "persisted\n" {
		t.Fatalf("writer: phase %s, log %q", w.Status.Phase, b)
	}
	waitUnmounted(t, n.podDir(w.UID))

	reader := pvcPod("reader", mnt, true, `cat $MNT/file; touch $MNT/x 2>/dev/null && echo writable || echo read-only`)
	if _, err := client.CoreV1().Pods("default").Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := waitPod(t, client, "reader", func(p *corev1.Pod) bool { return isTerminal(p.Status.Phase) })
	if b, _ := os.ReadFile(logPath(n.podDir(r.UID), "main", false)); r.Status.Phase != corev1.PodSucceeded || string(b) != "persisted\nread-only\n" {
		t.Errorf("reader: phase %s, log %q", r.Status.Phase, b)
	}
	waitUnmounted(t, n.podDir(r.UID))
	if entries, err := os.ReadDir(mnt); err != nil || len(entries) != 0 {
		t.Errorf("host mount point %s: %d entries (%v), want an empty dir", mnt, len(entries), err)
	}

	var cn *storagev1.CSINode
	var getErr error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		cn, getErr = client.StorageV1().CSINodes().Get(ctx, "n1", metav1.GetOptions{})
		return getErr == nil && len(cn.Spec.Drivers) == 1 && cn.Spec.Drivers[0].Name == testDriver && cn.Spec.Drivers[0].NodeID == "n1", nil
	}); err != nil {
		t.Fatalf("CSINode not registered: %+v %v (%v)", cn, getErr, err)
	}
}

// waitUnmounted waits until nothing is mounted below dir (the node
// unpublishes the volumes of a finished pod).
func waitUnmounted(t *testing.T, dir string) {
	t.Helper()
	var m []string
	var mErr error
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		m, mErr = mountsUnder(dir)
		return mErr == nil && len(m) == 0, nil
	}); err != nil {
		t.Fatalf("still mounted below %s: %v %v (%v)", dir, m, mErr, err)
	}
}
