package functions

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

// originalSnapshot is the restore point's VolumeSnapshot of rec, bound to
// its content.
func originalSnapshot(rec SnapshotRecord) []runtime.Object {
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: rec.VolumeSnapshot, Namespace: rec.Namespace},
		Status:     &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To(rec.Content), ReadyToUse: ptr.To(true)},
	}
	vsc := &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: rec.Content},
		Spec: snapv1.VolumeSnapshotContentSpec{Driver: rec.Driver, DeletionPolicy: "Retain",
			VolumeSnapshotRef: corev1.ObjectReference{Namespace: rec.Namespace, Name: rec.VolumeSnapshot}},
		Status: &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To(rec.SnapshotHandle)},
	}
	return []runtime.Object{vs, vsc}
}

func restoreArgs(ns string, recs ...SnapshotRecord) RestoreArgs {
	return RestoreArgs{Snapshots: recs, Namespace: ns, Timeout: metav1.Duration{Duration: 5 * time.Second}, From: "snapshot"}
}

func (fc *fakeCluster) claim(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc, err := fc.kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pvc
}

// TestRestoreFakeSameNamespace restores from the original VolumeSnapshot,
// staging nothing.
func TestRestoreFakeSameNamespace(t *testing.T) {
	rec := record("data", "fast")
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), originalSnapshot(rec))...)
	fc.bindClaims()
	out, err := runRestore(context.Background(), fc.rt, restoreArgs("", rec))
	if err != nil {
		t.Fatal(err)
	}
	want := []RestoredPVC{{Name: "data", Namespace: testNS, SourcePVC: "data", VolumeSnapshot: "vs-data"}}
	if diff := cmp.Diff(out.PVCs, want); diff != "" {
		t.Errorf("outputs (-got +want):\n%s", diff)
	}
	pvc := fc.claim(t, testNS, "data")
	if diff := cmp.Diff(pvc.Spec.DataSource, volumeSnapshotRef("vs-data")); diff != "" {
		t.Errorf("dataSource (-got +want):\n%s", diff)
	}
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "3Gi" || ptr.Deref(pvc.Spec.StorageClassName, "") != "fast" ||
		!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{"ReadWriteOnce"}) {
		t.Errorf("claim spec = %+v", pvc.Spec)
	}
	if got := fc.actions("volumesnapshotcontents"); slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "create") }) {
		t.Errorf("staged a content although the original snapshot is there: %v", got)
	}
}

// TestRestoreFakePreProvisioned restores into another namespace (created
// on the way), and into the original one after the snapshot is gone, from
// the retained handle; the staged snapshot and content go once the claim
// is bound, without touching the storage snapshot.
func TestRestoreFakePreProvisioned(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		original     bool
	}{
		{name: "other namespace", target: "copy", original: true},
		{name: "original gone", target: testNS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record("data", "fast")
			objs := objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, "Retain", nil))
			if tc.original {
				objs = append(objs, originalSnapshot(rec)...)
			}
			fc := newFakeCluster(t, objs...)
			fc.bindClaims()
			var staged *snapv1.VolumeSnapshotContent
			fc.snap.PrependReactor("create", "volumesnapshotcontents", func(a k8stesting.Action) (bool, runtime.Object, error) {
				staged = a.(k8stesting.CreateAction).GetObject().(*snapv1.VolumeSnapshotContent).DeepCopy()
				return false, nil, nil
			})
			in := restoreArgs(tc.target, rec)
			in.Names = map[string]string{"data": "data-copy"}
			if _, err := runRestore(context.Background(), fc.rt, in); err != nil {
				t.Fatal(err)
			}
			name := fc.rt.Names.Name(tc.target + "-data-copy")
			if staged == nil {
				t.Fatal("no content staged")
			}
			wantSpec := snapv1.VolumeSnapshotContentSpec{
				VolumeSnapshotRef: corev1.ObjectReference{Namespace: tc.target, Name: name},
				DeletionPolicy:    "Retain", Driver: testDriver, VolumeSnapshotClassName: ptr.To("a"),
				Source:           snapv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To("handle-data")},
				SourceVolumeMode: ptr.To(corev1.PersistentVolumeBlock),
			}
			if diff := cmp.Diff(staged.Spec, wantSpec); diff != "" || staged.Name != name {
				t.Errorf("staged content %s (-got +want):\n%s", staged.Name, diff)
			}
			if _, err := fc.kube.CoreV1().Namespaces().Get(context.Background(), tc.target, metav1.GetOptions{}); err != nil {
				t.Errorf("namespace: %v", err)
			}
			if ds := fc.claim(t, tc.target, "data-copy").Spec.DataSource; ds == nil || ds.Name != name {
				t.Errorf("dataSource = %+v, want the staged snapshot %s", ds, name)
			}
			wantCalls := []string{"create " + name, "get " + name, "delete " + name}
			if diff := cmp.Diff(fc.actions("volumesnapshotcontents"), wantCalls); diff != "" {
				t.Errorf("content calls (-got +want), no patch to Delete allowed:\n%s", diff)
			}
			if l, _ := fc.snap.SnapshotV1().VolumeSnapshots(tc.target).List(context.Background(), metav1.ListOptions{}); len(l.Items) != 0 {
				t.Errorf("staged snapshots left: %v", l.Items)
			}
			if !slices.Contains(fc.recorded(), "cleanup "+restoreSourceKey(tc.target, name)) {
				t.Errorf("staged objects have no cleanup: %q", fc.recorded())
			}
		})
	}
}

// TestRestoreFakeRefusesForeignClaim: a claim this phase did not create is
// never overwritten, and nothing is created; the phase's own is adopted.
func TestRestoreFakeRefusesForeignClaim(t *testing.T) {
	rec, other := record("data", "fast"), record("logs", "fast")
	theirs := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: testNS}}
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), originalSnapshot(rec), theirs)...)
	_, err := runRestore(context.Background(), fc.rt, restoreArgs("", other, rec))
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), "claim app/data already exists and this restore did not create it") {
		t.Fatalf("err = %v", err)
	}
	if l, _ := fc.kube.CoreV1().PersistentVolumeClaims(testNS).List(context.Background(), metav1.ListOptions{}); len(l.Items) != 1 {
		t.Errorf("%d claims, want only the user's", len(l.Items))
	}

	ours := &corev1.PersistentVolumeClaim{ObjectMeta: ownedMeta(fc.rt, "restore", testNS, "data"), Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	fc = newFakeCluster(t, objects(storageClass("fast", nil, immediate), originalSnapshot(rec), ours)...)
	if _, err := runRestore(context.Background(), fc.rt, restoreArgs("", rec)); err != nil {
		t.Fatalf("adopting its own claim: %v", err)
	}
}

func TestRestoreFakeWaitForFirstConsumerKeepsStaged(t *testing.T) {
	rec := record("data", "local")
	fc := newFakeCluster(t, storageClass("local", nil, storagev1.VolumeBindingWaitForFirstConsumer))
	if _, err := runRestore(context.Background(), fc.rt, restoreArgs("copy", rec)); err != nil {
		t.Fatal(err)
	}
	name := fc.rt.Names.Name("copy-data")
	if _, err := fc.snap.SnapshotV1().VolumeSnapshots("copy").Get(context.Background(), name, metav1.GetOptions{}); err != nil {
		t.Errorf("staged snapshot gone before a pod could bind the claim: %v", err)
	}
	events := fc.recorded()
	if len(events) != 1 || !strings.Contains(events[0], "claims copy/data bind when a pod first uses them") {
		t.Errorf("events = %q: want no cleanup, one message", events)
	}
}

func TestRestoreFromUnknownSource(t *testing.T) {
	_, err := runRestore(context.Background(), &function.Runtime{}, RestoreArgs{From: "tape"})
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), `from "tape" is not one of "snapshot", "export"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRestoreRejectsTwoSnapshotsForOneClaim(t *testing.T) {
	a, b := record("data", "fast"), record("logs", "fast")
	in := restoreArgs("copy", a, b)
	in.Names = map[string]string{"logs": "data"}
	_, err := restoreTargets(in)
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), "snapshots of app/data and app/logs would both restore to claim copy/data") {
		t.Fatalf("err = %v", err)
	}
}

// TestRestoreFakeFromDRCopy makes the claim from the snapshot's DR copy,
// through a staged content with the copy's handle and driver, even though
// a VolumeSnapshot of the original's name exists (in the DR cluster it
// would be another's); the StorageClass is mapped to the DR cluster's.
func TestRestoreFakeFromDRCopy(t *testing.T) {
	rec := record("data", "fast")
	fc := newFakeCluster(t, objects(storageClass("dr-fast", nil, immediate), originalSnapshot(rec))...)
	fc.bindClaims()
	in := restoreArgs("", rec)
	in.From = "drCopy"
	in.StorageClasses = map[string]string{"fast": "dr-fast"}
	in.DRCopies = []DRCopy{{PVC: "data", Namespace: testNS, VolumeSnapshot: rec.VolumeSnapshot, Driver: "disk.csi.azure.com",
		SnapshotID: "/subscriptions/s/resourceGroups/dr/providers/Microsoft.Compute/snapshots/copy-1"}}
	var handles, drivers []string
	fc.snap.PrependReactor("create", "volumesnapshotcontents", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c := a.(k8stesting.CreateAction).GetObject().(*snapv1.VolumeSnapshotContent)
		handles, drivers = append(handles, ptr.Deref(c.Spec.Source.SnapshotHandle, "")), append(drivers, c.Spec.Driver)
		return false, nil, nil
	})
	if _, err := runRestore(context.Background(), fc.rt, in); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(handles, []string{in.DRCopies[0].SnapshotID}) || !slices.Equal(drivers, []string{"disk.csi.azure.com"}) {
		t.Errorf("staged contents with handles %v of drivers %v, want the DR copy's", handles, drivers)
	}
	pvc := fc.claim(t, testNS, "data")
	if ptr.Deref(pvc.Spec.StorageClassName, "") != "dr-fast" || pvc.Spec.DataSource == nil || pvc.Spec.DataSource.Name == rec.VolumeSnapshot {
		t.Fatalf("claim spec = %+v, want class dr-fast from a staged snapshot", pvc.Spec)
	}

	in.DRCopies[0].PVC = "other"
	if _, err := runRestore(context.Background(), newFakeCluster(t).rt, in); err == nil || !strings.Contains(err.Error(), "has no DR copy") || !function.IsPermanent(err) {
		t.Errorf("restore without the claim's copy: %v, want a permanent error saying it has no DR copy", err)
	}
}
