package functions

// Snapshot contents: deleting VolumeSnapshots with their contents and storage snapshots, and finding contents by handle.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// deleteVolumeSnapshot deletes a VolumeSnapshot; gone already is fine.
func deleteVolumeSnapshot(ctx context.Context, cs snapshotclient.Interface, namespace, name string) (bool, error) {
	err := cs.SnapshotV1().VolumeSnapshots(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete VolumeSnapshot %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// deletePolicyPatch makes a content delete its storage snapshot with it.
var deletePolicyPatch = []byte(`{"spec":{"deletionPolicy":"Delete"}}`)

// setDeletePolicy makes content name delete its storage snapshot when it
// goes: Retain contents would keep it. Gone already is fine.
func setDeletePolicy(ctx context.Context, cs snapshotclient.Interface, name string) (bool, error) {
	_, err := cs.SnapshotV1().VolumeSnapshotContents().Patch(ctx, name, types.MergePatchType, deletePolicyPatch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("set deletionPolicy Delete on VolumeSnapshotContent %s: %w", name, err)
	}
	return true, nil
}

// contentsByHandle finds the VolumeSnapshotContents of driver that hold
// the storage snapshot handle, dynamic or pre-provisioned.
func contentsByHandle(ctx context.Context, cs snapshotclient.Interface, driver, handle string) ([]string, error) {
	list, err := cs.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list VolumeSnapshotContents: %w", err)
	}
	var names []string
	for _, c := range list.Items {
		if c.Spec.Driver == driver && contentHandle(&c) == handle {
			names = append(names, c.Name)
		}
	}
	return names, nil
}

// contentHandle is the storage snapshot handle of a content, "" until the
// driver has cut it.
func contentHandle(c *snapv1.VolumeSnapshotContent) string {
	if c.Status != nil && c.Status.SnapshotHandle != nil {
		return *c.Status.SnapshotHandle
	}
	if c.Spec.Source.SnapshotHandle != nil {
		return *c.Spec.Source.SnapshotHandle
	}
	return ""
}

// retireSnapshot deletes VolumeSnapshot ns/name and its contents with their
// storage snapshots: the contents named, the one bound to the snapshot and
// any that refer to it (a content can appear before the snapshot records
// it). It reports whether anything was there to delete.
func retireSnapshot(ctx context.Context, cs snapshotclient.Interface, ns, name string, contents ...string) (bool, error) {
	vs, err := cs.SnapshotV1().VolumeSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		vs = nil
	case err != nil:
		return false, fmt.Errorf("get VolumeSnapshot %s/%s: %w", ns, name, err)
	case vs.Status != nil && vs.Status.BoundVolumeSnapshotContentName != nil:
		contents = append(contents, *vs.Status.BoundVolumeSnapshotContentName)
	}
	contents, err = referringContents(ctx, cs, ns, name, contents)
	if err != nil {
		return false, err
	}
	// Delete policy first: deleting the snapshot may delete its content.
	found := vs != nil
	for _, c := range contents {
		ok, err := setDeletePolicy(ctx, cs, c)
		if err != nil {
			return found, err
		}
		found = found || ok
	}
	if vs != nil {
		if _, err := deleteVolumeSnapshot(ctx, cs, ns, name); err != nil {
			return found, err
		}
	}
	for _, c := range contents {
		if err := cs.SnapshotV1().VolumeSnapshotContents().Delete(ctx, c, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return found, fmt.Errorf("delete VolumeSnapshotContent %s: %w", c, err)
		}
	}
	return found, nil
}

// referringContents adds the contents that refer to VolumeSnapshot ns/name
// to known, without duplicates.
func referringContents(ctx context.Context, cs snapshotclient.Interface, ns, name string, known []string) ([]string, error) {
	list, err := cs.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list VolumeSnapshotContents: %w", err)
	}
	for _, c := range list.Items {
		if ref := c.Spec.VolumeSnapshotRef; ref.Namespace == ns && ref.Name == name {
			known = append(known, c.Name)
		}
	}
	slices.Sort(known)
	return slices.Compact(known), nil
}

// awaitRetired waits until VolumeSnapshots ns/names and every content that
// refers to them are gone: deletion goes through the snapshot controller
// and the driver, and a caller that promises no leftovers must wait. It
// watches the snapshots, then the contents.
func awaitRetired(ctx context.Context, cs snapshotclient.Interface, ns string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var left []string
	err := untilAllNamed(ctx, snapshotsListWatch(cs, ns, names), &snapv1.VolumeSnapshot{}, names,
		func(snapshots map[string]*snapv1.VolumeSnapshot) (bool, error) {
			left = left[:0]
			for _, n := range names {
				if snapshots[n] != nil {
					left = append(left, "VolumeSnapshot "+ns+"/"+n)
				}
			}
			return len(left) == 0, nil
		})
	if err == nil {
		refers := func(c *snapv1.VolumeSnapshotContent) bool {
			ref := c.Spec.VolumeSnapshotRef
			return ref.Namespace == ns && slices.Contains(names, ref.Name)
		}
		err = untilAll(ctx, contentsListWatch(cs), &snapv1.VolumeSnapshotContent{}, refers,
			func(contents map[string]*snapv1.VolumeSnapshotContent) (bool, error) {
				left = left[:0]
				for _, c := range slices.Sorted(maps.Keys(contents)) {
					left = append(left, "VolumeSnapshotContent "+c)
				}
				return len(left) == 0, nil
			})
	}
	if wait.Interrupted(err) {
		return fmt.Errorf("still being deleted: %s: %w", strings.Join(left, ", "), err)
	}
	return err
}

// snapshotsListWatch lists and watches the VolumeSnapshots ns/names.
func snapshotsListWatch(cs snapshotclient.Interface, ns string, names []string) cache.ListerWatcher {
	api := cs.SnapshotV1().VolumeSnapshots(ns)
	return namesListWatch(cs, names,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return api.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return api.Watch(ctx, o) })
}

// contentsListWatch lists and watches every VolumeSnapshotContent: what a
// wait needs is in their specs, which the API does not select by.
func contentsListWatch(cs snapshotclient.Interface) cache.ListerWatcher {
	api := cs.SnapshotV1().VolumeSnapshotContents()
	return selectedListWatch(cs, fields.Everything(),
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return api.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return api.Watch(ctx, o) })
}
