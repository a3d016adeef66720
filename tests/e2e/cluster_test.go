//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/snapflow/snapflow/tests/csidriver"
)

var volumeSnapshotGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}

// TestLocalCluster walks the local cluster through what snapflow needs of
// a real one: a PVC binds, a pod writes through its mount, a snapshot
// becomes ready, a read-only clone costs nothing while a read-write one is
// a full copy, exec and logs work, and deleting the namespace cleans up
// the driver's data.
func TestLocalCluster(t *testing.T) {
	ns := namespace(t, "local-cluster")
	core := env.kube.CoreV1()
	ctx := t.Context()

	// 1. A PVC binds.
	if _, err := core.PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	source := volumeHandleOf(waitBound(t, ns, "data"))

	// 2. A pod writes through its mount.
	writer := shellPod("writer", "data", false, "while true; do date >> /data/date.txt; sleep 1; done")
	if _, err := core.Pods(ns).Create(ctx, writer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, "writer")
	eventually(t, "three lines in date.txt", func(context.Context) (bool, error) {
		n, _ := strconv.Atoi(strings.TrimSpace(kubectl(t, "exec", "-n", ns, "writer", "--", "sh", "-c", "wc -l < /data/date.txt")))
		return n >= 3, nil
	})

	// 3. A VolumeSnapshot becomes readyToUse.
	snap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": "snap"},
		"spec": map[string]any{
			"volumeSnapshotClassName": env.c.SnapshotClass,
			"source":                  map[string]any{"persistentVolumeClaimName": "data"},
		},
	}}
	if _, err := env.dyn.Resource(volumeSnapshotGVR).Namespace(ns).Create(ctx, snap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "snapshot readyToUse", func(ctx context.Context) (bool, error) {
		got, err := env.dyn.Resource(volumeSnapshotGVR).Namespace(ns).Get(ctx, "snap", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready, _, _ := unstructured.NestedBool(got.Object, "status", "readyToUse")
		return ready, nil
	})

	// 4. A ReadOnlyMany clone copies nothing; a ReadWriteOnce one copies all.
	fromSnap := &corev1.TypedLocalObjectReference{APIGroup: ptrString("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}
	for _, c := range []*corev1.PersistentVolumeClaim{pvc("rox", corev1.ReadOnlyMany, fromSnap), pvc("rwo", corev1.ReadWriteOnce, fromSnap)} {
		if _, err := core.PersistentVolumeClaims(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rox, rwo := volumeHandle(t, ns, "rox"), volumeHandle(t, ns, "rwo")
	if source == "" || rox == "" || rwo == "" {
		t.Fatalf("volume handles: source %q, rox %q, rwo %q", source, rox, rwo)
	}
	stats, err := csidriver.ReadStats(env.c.CSIDataDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := stats.PerVolume[rox]; got != 0 {
		t.Errorf("ReadOnlyMany clone copied %d bytes, want 0", got)
	}
	if got := stats.PerVolume[rwo]; got <= 0 {
		t.Errorf("ReadWriteOnce clone copied %d bytes, want a full copy (> 0)", got)
	}

	// 5. A second pod reads the same first lines from the read-only clone.
	reader := shellPod("reader", "rox", true, "head -n 3 /data/date.txt; sleep 3600")
	if _, err := core.Pods(ns).Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, "reader")
	want := kubectl(t, "exec", "-n", ns, "writer", "--", "head", "-n", "3", "/data/date.txt")
	var logs string
	eventually(t, "reader logs", func(context.Context) (bool, error) {
		logs = kubectl(t, "logs", "-n", ns, "reader")
		return strings.Count(logs, "\n") >= 3, nil
	})
	// 6. exec and logs both answered above; compare what they saw.
	if logs != want {
		t.Errorf("clone's first lines (kubectl logs):\n%s\nsource's first lines (kubectl exec):\n%s", logs, want)
	}
	if out := kubectlFails(t, "exec", "-n", ns, "reader", "--", "sh", "-c", "echo x > /data/x"); out == "" {
		t.Error("writing to the read-only clone succeeded")
	}
	if got := kubectlIn(t, "through stdin\n", "exec", "-i", "-n", ns, "reader", "--", "cat"); got != "through stdin\n" {
		t.Errorf("kubectl exec -i echoed %q", got)
	}

	// 7. Deleting the namespace removes the PVCs, the pods and the data.
	if err := core.Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace deleted", func(ctx context.Context) (bool, error) {
		_, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return gone(err), nil
	})
	for _, id := range []string{source, rox, rwo} {
		dir := filepath.Join(env.c.CSIDataDir, "volumes", id)
		eventually(t, "driver data of "+id+" deleted", func(context.Context) (bool, error) {
			_, err := os.Stat(dir)
			return os.IsNotExist(err), nil
		})
	}
}

func ptrString(s string) *string { return &s }

// volumeHandle waits for claim to bind and returns its CSI volume handle.
func volumeHandle(t *testing.T, ns, claim string) string {
	t.Helper()
	return volumeHandleOf(waitBound(t, ns, claim))
}

func volumeHandleOf(c *corev1.PersistentVolumeClaim) string {
	pv, err := env.kube.CoreV1().PersistentVolumes().Get(context.Background(), c.Spec.VolumeName, metav1.GetOptions{})
	if err != nil || pv.Spec.CSI == nil {
		return ""
	}
	return pv.Spec.CSI.VolumeHandle
}
