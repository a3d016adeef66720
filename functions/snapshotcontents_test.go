package functions

import (
	"context"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

// deleteOnWatch makes the fake snapshot controller finish deleting
// ns/name once the function watches its kind: after the watch is open, so
// the watch sees the deletion.
func (fc *fakeCluster) deleteOnWatch(t *testing.T, gvr schema.GroupVersionResource, ns, name string) {
	fc.snap.PrependWatchReactor(gvr.Resource, func(a k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if w, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = w.ListOptions
		}
		w, err := fc.snap.Tracker().Watch(gvr, a.GetNamespace(), opts)
		if err != nil {
			return true, nil, err
		}
		if err := fc.snap.Tracker().Delete(gvr, ns, name); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
		return true, w, nil
	})
}

func contentOf(name, ns, snapshot string) *snapv1.VolumeSnapshotContent {
	return &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: snapv1.VolumeSnapshotContentSpec{Driver: testDriver, DeletionPolicy: "Delete",
			VolumeSnapshotRef: corev1.ObjectReference{Namespace: ns, Name: snapshot}},
	}
}

// TestAwaitRetiredFake waits for VolumeSnapshot app/vs-a and its content
// c-a, never for the contents of other snapshots.
func TestAwaitRetiredFake(t *testing.T) {
	vs := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "vs-a", Namespace: testNS}}
	content := contentOf("c-a", testNS, "vs-a")
	others := []runtime.Object{contentOf("c-other", testNS, "vs-other"), contentOf("c-elsewhere", "copy", "vs-a")}
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		deleted bool // by the fake controller, once watched
		wantErr string
	}{
		{name: "gone already"},
		{name: "deleted while watched", objs: objects(vs, content), deleted: true},
		{name: "snapshot left", objs: objects(vs, content),
			wantErr: "still being deleted: VolumeSnapshot app/vs-a: context deadline exceeded"},
		{name: "content left", objs: objects(content),
			wantErr: "still being deleted: VolumeSnapshotContent c-a: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFakeCluster(t, append(tc.objs, others...)...)
			if tc.deleted {
				fc.deleteOnWatch(t, vsGVR, testNS, "vs-a")
				fc.deleteOnWatch(t, vscGVR, "", "c-a")
			}
			timeout := 30 * time.Second // runs out only if the wait is broken
			if tc.wantErr != "" {
				timeout = time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err := awaitRetired(ctx, fc.snap, testNS, []string{"vs-a"})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
