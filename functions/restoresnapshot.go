package functions

import (
	"context"
	"fmt"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

// snapshotSource is restore's claimSource for from: snapshot. A claim in
// the snapshot's own namespace is made from the original VolumeSnapshot
// while it exists. Otherwise it is made from the retained storage handle:
// a pre-provisioned VolumeSnapshotContent (Retain) and a VolumeSnapshot
// bound to it in the target namespace, both temporary: they go once the
// claim is bound, and the storage snapshot stays with the restore point.
type snapshotSource struct {
	rt *function.Runtime
	// staged: always from the handle, as in a DR cluster, where the
	// original VolumeSnapshot names another cluster's snapshot.
	staged bool
}

var _ claimSource = snapshotSource{}

func (s snapshotSource) dataSource(ctx context.Context, t restoreTarget) (*corev1.TypedLocalObjectReference, error) {
	if t.Namespace == t.rec.Namespace && !s.staged {
		ok, err := s.original(ctx, t)
		if err != nil || ok {
			return volumeSnapshotRef(t.rec.VolumeSnapshot), err
		}
	}
	name, err := s.stage(ctx, t)
	if err != nil {
		return nil, err
	}
	return volumeSnapshotRef(name), nil
}

// original reports whether the restore point's own VolumeSnapshot is still
// there and still holds the same snapshot.
func (s snapshotSource) original(ctx context.Context, t restoreTarget) (bool, error) {
	vs, err := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshots(t.rec.Namespace).Get(ctx, t.rec.VolumeSnapshot, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get VolumeSnapshot %s/%s: %w", t.rec.Namespace, t.rec.VolumeSnapshot, err)
	case vs.DeletionTimestamp != nil:
		return false, nil
	case t.rec.Content != "" && vs.Status != nil && vs.Status.BoundVolumeSnapshotContentName != nil:
		return *vs.Status.BoundVolumeSnapshotContentName == t.rec.Content, nil
	}
	return true, nil
}

// stagedName names the temporary content and snapshot of target t.
func (s snapshotSource) stagedName(t restoreTarget) string {
	return s.rt.Names.Name(t.Namespace + "-" + t.Name)
}

// stage creates (or adopts) the temporary pre-provisioned content and
// snapshot for t and returns the snapshot's name.
func (s snapshotSource) stage(ctx context.Context, t restoreTarget) (string, error) {
	if t.rec.SnapshotHandle == "" || t.rec.Driver == "" {
		return "", function.Permanent(fmt.Errorf("cannot restore claim %s: VolumeSnapshot %s/%s is gone or elsewhere, and the restore point has no snapshotHandle and driver to restore from",
			t, t.rec.Namespace, t.rec.VolumeSnapshot))
	}
	name := s.stagedName(t)
	if !t.wffc { // a WaitForFirstConsumer claim needs them until a pod comes
		if err := s.rt.Cleanup(ctx, restoreSourceKey(t.Namespace, name)); err != nil {
			return "", err
		}
	}
	class := s.class(ctx, t.rec)
	if err := s.stageContent(ctx, t, name, class); err != nil {
		return "", err
	}
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: ownedMeta(s.rt, restoreSignature.Name, t.Namespace, name),
		Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{VolumeSnapshotContentName: ptr.To(name)},
			VolumeSnapshotClassName: class,
		},
	}
	api := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshots(t.Namespace)
	_, err := api.Create(ctx, vs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var have *snapv1.VolumeSnapshot
		have, err = api.Get(ctx, name, metav1.GetOptions{})
		if err == nil && (!createdBy(s.rt, have) || ptr.Deref(have.Spec.Source.VolumeSnapshotContentName, "") != name) {
			err = function.Permanent(fmt.Errorf("it exists but is not this phase's snapshot of VolumeSnapshotContent %s", name))
		}
	}
	if err != nil {
		return "", fmt.Errorf("create VolumeSnapshot %s/%s for claim %s: %w", t.Namespace, name, t, err)
	}
	return name, nil
}

func (s snapshotSource) stageContent(ctx context.Context, t restoreTarget, name string, class *string) error {
	vsc := &snapv1.VolumeSnapshotContent{
		ObjectMeta: ownedMeta(s.rt, restoreSignature.Name, "", name),
		Spec: snapv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef:       corev1.ObjectReference{Namespace: t.Namespace, Name: name},
			DeletionPolicy:          snapv1.VolumeSnapshotContentRetain, // the storage snapshot is the restore point's
			Driver:                  t.rec.Driver,
			Source:                  snapv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To(t.rec.SnapshotHandle)},
			VolumeSnapshotClassName: class,
		},
	}
	if t.rec.VolumeMode != "" {
		vsc.Spec.SourceVolumeMode = ptr.To(corev1.PersistentVolumeMode(t.rec.VolumeMode))
	}
	api := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshotContents()
	_, err := api.Create(ctx, vsc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var have *snapv1.VolumeSnapshotContent
		have, err = api.Get(ctx, name, metav1.GetOptions{})
		if err == nil && (!createdBy(s.rt, have) || contentHandle(have) != t.rec.SnapshotHandle) {
			err = function.Permanent(fmt.Errorf("it exists but is not this phase's content for snapshot handle %s", t.rec.SnapshotHandle))
		}
	}
	if err != nil {
		return fmt.Errorf("create VolumeSnapshotContent %s for claim %s: %w", name, t, err)
	}
	return nil
}

// class is the snapshot's class if this cluster has it for the driver (the
// sidecar reads secrets from it); a restore in another cluster may not.
func (s snapshotSource) class(ctx context.Context, rec SnapshotRecord) *string {
	if rec.VolumeSnapshotClass == "" {
		return nil
	}
	c, err := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshotClasses().Get(ctx, rec.VolumeSnapshotClass, metav1.GetOptions{})
	if err != nil || c.Driver != rec.Driver {
		return nil
	}
	return ptr.To(rec.VolumeSnapshotClass)
}

// consumes is false: a claim from a snapshot is filled by the driver when
// it binds, whoever uses it first.
func (s snapshotSource) consumes() bool { return false }

func (s snapshotSource) bound(ctx context.Context, t restoreTarget) error {
	return removeStaged(ctx, s.rt, t.Namespace, s.stagedName(t))
}

// removeStaged deletes a staged snapshot and content of this phase, but not
// the storage snapshot: the content must still say Retain.
func removeStaged(ctx context.Context, rt *function.Runtime, ns, name string) error {
	cs := rt.Clients.Snapshots.SnapshotV1()
	vs, err := cs.VolumeSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("get VolumeSnapshot %s/%s: %w", ns, name, err)
	case createdBy(rt, vs):
		if _, err := deleteVolumeSnapshot(ctx, rt.Clients.Snapshots, ns, name); err != nil {
			return err
		}
	}
	c, err := cs.VolumeSnapshotContents().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || (err == nil && !createdBy(rt, c)):
		return nil
	case err != nil:
		return fmt.Errorf("get VolumeSnapshotContent %s: %w", name, err)
	case c.Spec.DeletionPolicy != snapv1.VolumeSnapshotContentRetain:
		return function.Permanent(fmt.Errorf("VolumeSnapshotContent %s has deletionPolicy %s; deleting it would delete the restore point's storage snapshot, so it stays",
			name, c.Spec.DeletionPolicy))
	}
	if err := cs.VolumeSnapshotContents().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete VolumeSnapshotContent %s: %w", name, err)
	}
	return nil
}

// restoreSourceKey is the cleanup key of staged objects:
// "snapshot/<namespace>/<name>".
func restoreSourceKey(ns, name string) string { return "snapshot/" + ns + "/" + name }

// releaseRestoreSource removes staged objects left by a failed or
// interrupted restore.
func releaseRestoreSource(ctx context.Context, rt *function.Runtime, key string) error {
	if err := rt.Clients.Check(function.UsesSnapshots); err != nil {
		return err
	}
	parts := strings.Split(key, "/")
	if len(parts) != 3 || parts[0] != "snapshot" {
		return function.Permanent(fmt.Errorf("restore: unknown cleanup key %q", key))
	}
	return removeStaged(ctx, rt, parts[1], parts[2])
}
