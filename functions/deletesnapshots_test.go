package functions

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// TestDeleteSnapshotsFakeIdempotent deletes a restore point twice: the
// first run switches each content to Delete before deleting it (so the
// storage snapshot goes too) and finds a content whose name is stale by
// its handle; the second run finds nothing and succeeds.
func TestDeleteSnapshotsFakeIdempotent(t *testing.T) {
	data, logs := record("data", "fast"), record("logs", "fast")
	objs := objects(originalSnapshot(data), originalSnapshot(logs))
	// logs' VolumeSnapshot is gone and its content was renamed: only the
	// handle finds it.
	objs = slices.DeleteFunc(objs, func(o runtime.Object) bool {
		m := o.(metav1.Object)
		return m.GetName() == "vs-logs" || m.GetName() == "content-logs"
	})
	objs = append(objs, &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "imported-logs"},
		Spec: snapv1.VolumeSnapshotContentSpec{Driver: testDriver, DeletionPolicy: "Retain",
			Source: snapv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To("handle-logs")}},
	})
	fc := newFakeCluster(t, objs...)
	in := DeleteSnapshotsArgs{Snapshots: []SnapshotRecord{data, logs}}
	out, err := runDeleteSnapshots(context.Background(), fc.rt, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Deleted != 2 {
		t.Errorf("deleted = %d, want 2", out.Deleted)
	}
	for _, c := range []string{"content-data", "imported-logs"} {
		acts := fc.actions("volumesnapshotcontents")
		if p, d := slices.Index(acts, "patch "+c), slices.Index(acts, "delete "+c); p < 0 || d < p {
			t.Errorf("content calls %q: want patch %s (to Delete) before its delete", acts, c)
		}
	}
	ctx := context.Background()
	if l, _ := fc.snap.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("contents left: %v", l.Items)
	}
	if l, _ := fc.snap.SnapshotV1().VolumeSnapshots(testNS).List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("snapshots left: %v", l.Items)
	}

	out, err = runDeleteSnapshots(ctx, fc.rt, in)
	if err != nil || out.Deleted != 0 {
		t.Fatalf("second run: deleted %d, err %v; want 0, nil", out.Deleted, err)
	}
	if diff := cmp.Diff(fc.recorded()[1:], []string{"message deleted 0 snapshots; 2 were gone already"}); diff != "" {
		t.Errorf("messages (-got +want):\n%s", diff)
	}
}
