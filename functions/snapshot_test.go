package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

const immediate = storagev1.VolumeBindingImmediate

// runSnapshotFake runs snapshot on fc with a fake snapshotter that makes
// snapshots ready at once, and decodes the outputs.
func runSnapshotFake(t *testing.T, fc *fakeCluster, args map[string]any) (SnapshotOutputs, error) {
	t.Helper()
	(&fakeSnapshotter{fc: fc}).install(t)
	return invokeSnapshot(t, fc, args)
}

func invokeSnapshot(t *testing.T, fc *fakeCluster, args map[string]any) (SnapshotOutputs, error) {
	t.Helper()
	out, err := invoke(context.Background(), Snapshot(), fc.rt, args)
	if err != nil {
		return SnapshotOutputs{}, err
	}
	var got SnapshotOutputs
	decodeOutputs(t, out, &got)
	return got, nil
}

func decodeOutputs(t *testing.T, out map[string]any, into any) {
	t.Helper()
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatal(err)
	}
}

func snapArgs(extra map[string]any, pvcs ...string) map[string]any {
	args := map[string]any{"namespace": testNS, "pvcs": pvcs}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func (fc *fakeCluster) volumeSnapshot(t *testing.T, name string) *snapv1.VolumeSnapshot {
	t.Helper()
	vs, err := fc.snap.SnapshotV1().VolumeSnapshots(testNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestSnapshotFakeClassSelection(t *testing.T) {
	fast := storageClass("fast", nil, immediate)
	annotated := storageClass("fast", map[string]string{annotationSnapshotClass: "b"}, immediate)
	cases := []struct {
		name    string
		objs    []runtime.Object
		arg     string
		want    string // the class the snapshot uses
		wantErr []string
	}{
		{name: "explicit arg", arg: "b", want: "b",
			objs: objects(annotated, newVSClass("a", testDriver, "Retain", marked), newVSClass("b", testDriver, "Retain", nil))},
		{name: "StorageClass annotation", want: "b",
			objs: objects(annotated, newVSClass("a", testDriver, "Retain", marked), newVSClass("b", testDriver, "Retain", nil))},
		{name: "driver's annotated class", want: "a",
			objs: objects(fast, newVSClass("a", testDriver, "Retain", marked), newVSClass("b", testDriver, "Retain", nil),
				newVSClass("other", "other.csi", "Retain", marked))},
		{name: "explicit class of another driver", arg: "other",
			objs:    objects(fast, newVSClass("other", "other.csi", "Retain", marked)),
			wantErr: []string{`VolumeSnapshotClass "other"`, `driver "other.csi"`, `claim app/data is on driver "hostpath.csi.k8s.io"`}},
		{name: "StorageClass names a missing class",
			objs:    objects(annotated, newVSClass("a", testDriver, "Retain", marked)),
			wantErr: []string{`VolumeSnapshotClass "b", named by StorageClass fast's annotation snapflow.dev/volume-snapshot-class, does not exist`}},
		{name: "none annotated",
			objs: objects(fast, newVSClass("a", testDriver, "Retain", nil), newVSClass("b", testDriver, "Retain", nil)),
			wantErr: []string{`no VolumeSnapshotClass is annotated snapflow.dev/is-snapshot-class="true"`, `driver "hostpath.csi.k8s.io"`,
				`StorageClass "fast"`, "candidates: a, b", "annotate exactly one"}},
		{name: "two annotated",
			objs: objects(fast, newVSClass("a", testDriver, "Retain", marked), newVSClass("b", testDriver, "Retain", marked)),
			wantErr: []string{`2 VolumeSnapshotClasses are annotated`, `driver "hostpath.csi.k8s.io"`, `StorageClass "fast"`, ": a, b;",
				"annotate exactly one"}},
		{name: "no class for the driver",
			objs:    objects(fast, newVSClass("other", "other.csi", "Retain", marked)),
			wantErr: []string{`no VolumeSnapshotClass exists for driver "hostpath.csi.k8s.io"`, "create one for the driver"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFakeCluster(t, append(tc.objs, boundClaim("data", "fast")...)...)
			_, err := runSnapshotFake(t, fc, snapArgs(map[string]any{"volumeSnapshotClass": tc.arg, "durable": false}, "data"))
			if tc.wantErr != nil {
				if err == nil || !function.IsPermanent(err) {
					t.Fatalf("err = %v, want a permanent error", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not contain %q", err, w)
					}
				}
				if got := fc.actions("volumesnapshots"); slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "create") }) {
					t.Errorf("created snapshots despite the error: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vs := fc.volumeSnapshot(t, fc.rt.Names.Name("data"))
			if got := ptr.Deref(vs.Spec.VolumeSnapshotClassName, ""); got != tc.want {
				t.Errorf("class = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSnapshotFakeDurableRetainCopy(t *testing.T) {
	ours := func(params map[string]string) *snapv1.VolumeSnapshotClass {
		c := newVSClass("a-retain", testDriver, "Retain", map[string]string{annotationRetainOf: "a"})
		c.Labels, c.Parameters = map[string]string{labelManagedBy: managedBy}, params
		return c
	}
	cases := []struct {
		name      string
		existing  []runtime.Object
		source    snapv1.DeletionPolicy
		wantClass string
		wantErr   string
	}{
		{name: "creates the copy", source: "Delete", wantClass: "a-retain"},
		{name: "adopts and updates its own copy", source: "Delete", wantClass: "a-retain",
			existing: objects(ours(map[string]string{"tier": "slow"}))},
		{name: "refuses a class it did not make", source: "Delete",
			existing: objects(newVSClass("a-retain", testDriver, "Delete", nil)),
			wantErr:  `VolumeSnapshotClass "a-retain" exists but is not snapflow's Retain copy of "a"`},
		{name: "uses a retaining class as it is", source: "Retain", wantClass: "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, tc.source, marked), boundClaim("data", "fast"))
			fc := newFakeCluster(t, append(objs, tc.existing...)...)
			out, err := runSnapshotFake(t, fc, snapArgs(nil, "data"))
			if tc.wantErr != "" {
				if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a permanent error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Snapshots[0].VolumeSnapshotClass; got != tc.wantClass {
				t.Errorf("record class = %q, want %q", got, tc.wantClass)
			}
			cls, err := fc.snap.SnapshotV1().VolumeSnapshotClasses().Get(context.Background(), tc.wantClass, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := &snapv1.VolumeSnapshotClass{Driver: testDriver, DeletionPolicy: "Retain", Parameters: map[string]string{"tier": "fast"}}
			got := &snapv1.VolumeSnapshotClass{Driver: cls.Driver, DeletionPolicy: cls.DeletionPolicy, Parameters: cls.Parameters}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("class %s (-got +want):\n%s", tc.wantClass, diff)
			}
			if tc.wantClass != "a" && (cls.Labels[labelManagedBy] != managedBy || cls.Annotations[annotationRetainOf] != "a" || cls.Annotations[annotationIsSnapshotClass] != "") {
				t.Errorf("copy's labels %v, annotations %v", cls.Labels, cls.Annotations)
			}
		})
	}
}

// TestSnapshotFakeReleasesHoldsWhenCut checks that holds are released once
// every snapshot is cut and before any is ready: the fake snapshotter
// makes none ready until ReleaseHolds has run.
func TestSnapshotFakeReleasesHoldsWhenCut(t *testing.T) {
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, "Delete", marked),
		boundClaim("data", "fast"), boundClaim("logs", "fast"))...)
	released := make(chan struct{})
	(&fakeSnapshotter{fc: fc, ready: released}).install(t)
	fc.onRelease = func() {
		fc.record(fmt.Sprintf("at release: %s", fc.snapshotStates(t)))
		close(released)
	}
	out, err := invokeSnapshot(t, fc, snapArgs(map[string]any{"timeout": "5s"}, "data", "logs"))
	if err != nil {
		t.Fatal(err)
	}
	events := fc.recorded()
	want := []string{"release", "at release: cut=2 ready=0",
		"message 2 snapshots cut in " /* then a duration */}
	if len(events) < 3 || events[0] != want[0] || events[1] != want[1] || !strings.HasPrefix(events[2], want[2]) {
		t.Fatalf("events = %q, want them to start %q", events, want)
	}
	if out.QuiesceHold != "1.5s" {
		t.Errorf("quiesceHold = %q", out.QuiesceHold)
	}
	name := fc.rt.Names.Name("data")
	wantRec := SnapshotRecord{
		PVC: "data", Namespace: testNS, VolumeSnapshot: name, Content: "snapcontent-" + name, SnapshotHandle: "snap-" + name,
		Driver: testDriver, RestoreSize: "2Gi", CreationTime: "2025-03-01T12:00:00Z", VolumeSnapshotClass: "a-retain",
		StorageClass: "fast", AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Filesystem", Size: "1Gi",
	}
	if len(out.Snapshots) != 2 || out.Snapshots[1].PVC != "logs" {
		t.Fatalf("snapshots = %+v", out.Snapshots)
	}
	if diff := cmp.Diff(out.Snapshots[0], wantRec); diff != "" {
		t.Errorf("record (-got +want):\n%s", diff)
	}
}

// snapshotStates counts the namespace's snapshots that are cut and ready.
func (fc *fakeCluster) snapshotStates(t *testing.T) string {
	list, err := fc.snap.Tracker().List(vsGVR, snapv1.SchemeGroupVersion.WithKind("VolumeSnapshot"), testNS)
	if err != nil {
		t.Error(err)
	}
	cut, ready := 0, 0
	for _, vs := range list.(*snapv1.VolumeSnapshotList).Items {
		if vs.Status != nil && vs.Status.CreationTime != nil {
			cut++
		}
		if vs.Status != nil && ptr.Deref(vs.Status.ReadyToUse, false) {
			ready++
		}
	}
	return fmt.Sprintf("cut=%d ready=%d", cut, ready)
}

// TestSnapshotFakeTimeoutRollsBack: a snapshot that never gets cut fails
// the call with the driver's message, and the call leaves no snapshot and
// no (Retain) content behind, having switched the content to Delete first.
func TestSnapshotFakeTimeoutRollsBack(t *testing.T) {
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, "Delete", marked),
		boundClaim("data", "fast"))...)
	(&fakeSnapshotter{fc: fc, failure: "rpc error: code = ResourceExhausted desc = snapshot quota exceeded"}).install(t)
	_, err := invokeSnapshot(t, fc, snapArgs(map[string]any{"timeout": "1s"}, "data"))
	if err == nil {
		t.Fatal("no error")
	}
	name := fc.rt.Names.Name("data")
	for _, w := range []string{"snapshots in app not cut within 1s: ", "VolumeSnapshot " + name + " of claim data: rpc error: code = ResourceExhausted desc = snapshot quota exceeded"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	ctx := context.Background()
	if l, _ := fc.snap.SnapshotV1().VolumeSnapshots(testNS).List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("snapshots left: %v", l.Items)
	}
	if l, _ := fc.snap.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("contents left: %v", l.Items)
	}
	content := "snapcontent-" + name
	acts := fc.actions("volumesnapshotcontents")
	if p, d := slices.Index(acts, "patch "+content), slices.Index(acts, "delete "+content); p < 0 || d < p {
		t.Errorf("content calls %q: want patch (to Delete) before delete", acts)
	}
	if slices.Contains(fc.recorded(), "release") {
		t.Error("released holds although nothing was cut")
	}
}

func TestSnapshotFakeAdoptsOnResume(t *testing.T) {
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, "Retain", marked),
		boundClaim("data", "fast"))...)
	name := fc.rt.Names.Name("data")
	earlier := &snapv1.VolumeSnapshot{
		ObjectMeta: ownedMeta(fc.rt, "snapshot", testNS, name),
		Spec:       snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("data")}, VolumeSnapshotClassName: ptr.To("a")},
	}
	if _, err := fc.snap.SnapshotV1().VolumeSnapshots(testNS).Create(context.Background(), earlier, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := runSnapshotFake(t, fc, snapArgs(nil, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Snapshots[0].VolumeSnapshot != name || out.Snapshots[0].SnapshotHandle != "snap-"+name {
		t.Errorf("record = %+v", out.Snapshots[0])
	}
	if l, _ := fc.snap.SnapshotV1().VolumeSnapshots(testNS).List(context.Background(), metav1.ListOptions{}); len(l.Items) != 1 {
		t.Errorf("%d snapshots, want the adopted one only", len(l.Items))
	}
}

// TestSnapshotFakeRefusesForeignSnapshot: an object of the deterministic
// name that this phase did not create is neither adopted nor deleted.
func TestSnapshotFakeRefusesForeignSnapshot(t *testing.T) {
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), newVSClass("a", testDriver, "Retain", marked),
		boundClaim("data", "fast"))...)
	name := fc.rt.Names.Name("data")
	foreign := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}}
	if _, err := fc.snap.SnapshotV1().VolumeSnapshots(testNS).Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := runSnapshotFake(t, fc, snapArgs(nil, "data"))
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), "not created by this phase") {
		t.Fatalf("err = %v", err)
	}
	fc.volumeSnapshot(t, name) // still there
}

func TestSnapshotFakeClaimNotBound(t *testing.T) {
	objs := boundClaim("data", "fast")
	objs[0].(*corev1.PersistentVolumeClaim).Status.Phase = corev1.ClaimPending
	fc := newFakeCluster(t, append(objs, newVSClass("a", testDriver, "Retain", marked))...)
	_, err := runSnapshotFake(t, fc, snapArgs(nil, "data", "gone"))
	for _, w := range []string{"claim app/data is Pending, not Bound", "claim app/gone does not exist"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to contain %q", err, w)
		}
	}
}

func TestSnapshotArgsValidate(t *testing.T) {
	err := SnapshotArgs{PVCs: []string{"a", "a", ""}}.validate()
	want := "namespace is empty\npvcs[1]: \"a\" is empty or a duplicate\npvcs[2]: \"\" is empty or a duplicate\ntimeout must be positive, got 0s"
	if err == nil || !function.IsPermanent(err) || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
