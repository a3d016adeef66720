package functions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	groupv1beta2 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1beta2"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// fakeGroupSnapshotter is a fake snapshot controller for groups: when a
// VolumeGroupSnapshot is created, it snapshots the claims its selector
// matches into member VolumeSnapshots and marks it ready.
func (fc *fakeCluster) fakeGroupSnapshotter(t *testing.T) {
	gvr := groupv1beta2.SchemeGroupVersion.WithResource("volumegroupsnapshots")
	w, err := fc.snap.GroupsnapshotV1beta2().VolumeGroupSnapshots(metav1.NamespaceAll).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	control(t, w, nil, func(obj runtime.Object) {
		vgs := obj.(*groupv1beta2.VolumeGroupSnapshot)
		latest, err := fc.snap.Tracker().Get(gvr, vgs.Namespace, vgs.Name)
		if err != nil || latest.(*groupv1beta2.VolumeGroupSnapshot).Status != nil {
			return // deleted, or taken already
		}
		vgs = latest.(*groupv1beta2.VolumeGroupSnapshot).DeepCopy()
		sel := labels.SelectorFromSet(vgs.Spec.Source.Selector.MatchLabels)
		pvcs, err := fc.kube.CoreV1().PersistentVolumeClaims(vgs.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			t.Error(err)
			return
		}
		now := metav1.NewTime(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
		for _, pvc := range pvcs.Items {
			name := "snapshot-" + pvc.Name
			vs := &snapv1.VolumeSnapshot{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: vgs.Namespace,
					OwnerReferences: []metav1.OwnerReference{{Kind: "VolumeGroupSnapshot", Name: vgs.Name}}},
				Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(pvc.Name)}},
				Status: &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To("content-" + name), CreationTime: &now,
					ReadyToUse: ptr.To(true), VolumeGroupSnapshotName: ptr.To(vgs.Name)},
			}
			vsc := &snapv1.VolumeSnapshotContent{
				ObjectMeta: metav1.ObjectMeta{Name: "content-" + name},
				Spec: snapv1.VolumeSnapshotContentSpec{Driver: testDriver, DeletionPolicy: "Retain",
					VolumeSnapshotRef: corev1.ObjectReference{Namespace: vgs.Namespace, Name: name}},
				Status: &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To("handle-" + pvc.Name)},
			}
			if err := errors.Join(fc.snap.Tracker().Add(vs), fc.snap.Tracker().Add(vsc)); err != nil {
				t.Error(err)
			}
		}
		vgs.Status = &groupv1beta2.VolumeGroupSnapshotStatus{CreationTime: &now, ReadyToUse: ptr.To(true),
			BoundVolumeGroupSnapshotContentName: ptr.To("groupcontent-" + vgs.Name)}
		if err := fc.snap.Tracker().Update(gvr, vgs, vgs.Namespace); err != nil {
			t.Error(err)
		}
	})
}

func TestSnapshotFakeGroup(t *testing.T) {
	groupClass := &groupv1beta2.VolumeGroupSnapshotClass{
		ObjectMeta: metav1.ObjectMeta{Name: "group", Annotations: marked},
		Driver:     testDriver, DeletionPolicy: "Delete",
	}
	fc := newFakeCluster(t, objects(storageClass("fast", nil, immediate), groupClass,
		boundClaim("data", "fast"), boundClaim("logs", "fast"), boundClaim("other", "fast"))...)
	fc.fakeGroupSnapshotter(t)
	out, err := invokeSnapshot(t, fc, snapArgs(map[string]any{"group": true}, "data", "logs"))
	if err != nil {
		t.Fatal(err)
	}
	group := fc.rt.Names.Name("group")
	var got []string
	for _, s := range out.Snapshots {
		got = append(got, fmt.Sprintf("%s %s %s %s", s.PVC, s.VolumeSnapshot, s.SnapshotHandle, s.Group))
	}
	want := []string{"data snapshot-data handle-data " + group, "logs snapshot-logs handle-logs " + group}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("snapshots (-got +want):\n%s", diff)
	}
	vgs, err := fc.snap.GroupsnapshotV1beta2().VolumeGroupSnapshots(testNS).Get(context.Background(), group, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := ptr.Deref(vgs.Spec.VolumeGroupSnapshotClassName, ""); c != "group-retain" {
		t.Errorf("group class = %q, want the Retain copy", c)
	}
	pvcs, _ := fc.kube.CoreV1().PersistentVolumeClaims(testNS).List(context.Background(), metav1.ListOptions{})
	for _, p := range pvcs.Items {
		if _, ok := p.Labels[labelGroupSnapshot]; ok {
			t.Errorf("claim %s keeps label %s", p.Name, labelGroupSnapshot)
		}
	}
	if !slices.Contains(fc.recorded(), "release") {
		t.Error("holds not released")
	}
}
