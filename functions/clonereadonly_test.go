package functions

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

func record(pvc, storageClass string) SnapshotRecord {
	return SnapshotRecord{
		PVC: pvc, Namespace: testNS, VolumeSnapshot: "vs-" + pvc, Content: "content-" + pvc, SnapshotHandle: "handle-" + pvc,
		Driver: testDriver, RestoreSize: "3Gi", VolumeSnapshotClass: "a", StorageClass: storageClass,
		AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Block", Size: "1Gi",
	}
}

// TestCloneReadOnlyFakeClassesAndCleanup: the arg's mapping wins over the
// StorageClass annotation, which wins over the source class; each clone is
// read-only, sized for the snapshot, and registered for cleanup before it
// is created.
func TestCloneReadOnlyFakeClassesAndCleanup(t *testing.T) {
	fc := newFakeCluster(t,
		storageClass("mapped", map[string]string{annotationCloneStorageClass: "not-this"}, immediate),
		storageClass("ceph", map[string]string{annotationCloneStorageClass: "ceph-shallow"}, immediate),
		storageClass("plain", nil, immediate))
	fc.bindClaims()
	in := CloneReadOnlyArgs{
		Snapshots:      []SnapshotRecord{record("a", "mapped"), record("b", "ceph"), record("c", "plain")},
		StorageClasses: map[string]string{"mapped": "from-arg"},
		Timeout:        metav1.Duration{Duration: 5 * time.Second},
	}
	out, err := runCloneReadOnly(context.Background(), fc.rt, in)
	if err != nil {
		t.Fatal(err)
	}
	var gotClasses, wantKeys []string
	for _, c := range out.PVCs {
		gotClasses = append(gotClasses, c.StorageClass)
		wantKeys = append(wantKeys, "cleanup pvc/"+testNS+"/"+c.Name)
	}
	if diff := cmp.Diff(gotClasses, []string{"from-arg", "ceph-shallow", "plain"}); diff != "" {
		t.Errorf("classes (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(fc.recorded(), wantKeys); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	pvc, err := fc.kube.CoreV1().PersistentVolumeClaims(testNS).Get(context.Background(), fc.rt.Names.Name("b"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany},
		DataSource:       volumeSnapshotRef("vs-b"),
		StorageClassName: ptr.To("ceph-shallow"),
		VolumeMode:       ptr.To(corev1.PersistentVolumeBlock),
		Resources:        pvc.Spec.Resources,
	}
	if diff := cmp.Diff(pvc.Spec, want); diff != "" {
		t.Errorf("clone spec (-got +want):\n%s", diff)
	}
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "3Gi" {
		t.Errorf("size = %s, want the larger restoreSize 3Gi", q.String())
	}
	if got := out.PVCs[1]; got != (Clone{Name: pvc.Name, Namespace: testNS, SourcePVC: "b", StorageClass: "ceph-shallow", VolumeSnapshot: "vs-b"}) {
		t.Errorf("output = %+v", got)
	}

	// The engine releases the cleanups; a second release finds nothing.
	for range 2 {
		if err := CloneReadOnly().Release(context.Background(), fc.rt, "pvc/"+testNS+"/"+pvc.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fc.kube.CoreV1().PersistentVolumeClaims(testNS).Get(context.Background(), pvc.Name, metav1.GetOptions{}); err == nil {
		t.Error("clone still there after release")
	}
}

// TestCloneReadOnlyFakeWaitForFirstConsumer: a clone whose class binds only
// for a pod is not waited for (the fake never binds it), and keep registers
// no cleanup.
func TestCloneReadOnlyFakeWaitForFirstConsumer(t *testing.T) {
	fc := newFakeCluster(t, storageClass("local", nil, storagev1.VolumeBindingWaitForFirstConsumer))
	in := CloneReadOnlyArgs{Snapshots: []SnapshotRecord{record("a", "local")}, Keep: true, Timeout: metav1.Duration{Duration: time.Second}}
	out, err := runCloneReadOnly(context.Background(), fc.rt, in)
	if err != nil {
		t.Fatal(err)
	}
	events := fc.recorded()
	if len(events) != 1 || !strings.Contains(events[0], "not waiting for clones "+out.PVCs[0].Name) {
		t.Errorf("events = %q, want only the message about not waiting", events)
	}
}

func TestCloneReadOnlyFakeTimesOutUnbound(t *testing.T) {
	fc := newFakeCluster(t, storageClass("plain", nil, immediate))
	in := CloneReadOnlyArgs{Snapshots: []SnapshotRecord{record("a", "plain")}, Timeout: metav1.Duration{Duration: time.Second}}
	_, err := runCloneReadOnly(context.Background(), fc.rt, in)
	if err == nil || !strings.Contains(err.Error(), "not bound within 1s") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(fc.recorded(), "cleanup pvc/"+testNS+"/"+fc.rt.Names.Name("a")) {
		t.Error("the unbound clone has no cleanup")
	}
}

func TestCloneReadOnlyFakeAdoptsOwnClone(t *testing.T) {
	fc := newFakeCluster(t, storageClass("plain", nil, immediate))
	fc.bindClaims()
	in := CloneReadOnlyArgs{Snapshots: []SnapshotRecord{record("a", "plain")}, Timeout: metav1.Duration{Duration: 5 * time.Second}}
	for range 2 { // the second run is a resumed phase
		if _, err := runCloneReadOnly(context.Background(), fc.rt, in); err != nil {
			t.Fatal(err)
		}
	}
	other := in
	other.Snapshots = []SnapshotRecord{record("a", "plain")}
	other.Snapshots[0].VolumeSnapshot = "vs-other"
	_, err := runCloneReadOnly(context.Background(), fc.rt, other)
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), "not this phase's clone of VolumeSnapshot vs-other") {
		t.Fatalf("err = %v", err)
	}
}
