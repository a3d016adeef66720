package functions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
)

// Labels and annotations the volume functions read and write.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "snapflow"
	// annotationSnapshotClass on a StorageClass names the snapshot class
	// for its claims.
	annotationSnapshotClass = "snapflow.dev/volume-snapshot-class"
	// annotationGroupSnapshotClass on a StorageClass names the group
	// snapshot class for its claims.
	annotationGroupSnapshotClass = "snapflow.dev/volume-group-snapshot-class"
	// annotationIsSnapshotClass marks a driver's snapshot class (or group
	// snapshot class) for snapflow to use.
	annotationIsSnapshotClass = "snapflow.dev/is-snapshot-class"
	// annotationRetainOf on a Retain clone names the class it copies.
	annotationRetainOf = "snapflow.dev/retain-of"
	// annotationCloneStorageClass on a StorageClass names the class for
	// read-only clones of its snapshots.
	annotationCloneStorageClass = "snapflow.dev/clone-storage-class"
	// annotationDefaultStorageClass marks the cluster's default StorageClass.
	annotationDefaultStorageClass = "storageclass.kubernetes.io/is-default-class"
)

// pollInterval is how often the volume functions look at objects they wait
// for: snapshots and bindings take seconds, so once a second is plenty and
// cheap for the API server.
const pollInterval = time.Second

// cutPollInterval is how often snapshot looks for the cut while the app is
// frozen: every tick of it is added to the freeze.
const cutPollInterval = 100 * time.Millisecond

// cleanupTimeout bounds deleting what a failed call created; it runs on a
// context of its own because the call's may be what ran out.
const cleanupTimeout = 30 * time.Second

// objectOf derives the CEL object type of struct T, named snapflow.<name>
// (the Go name may differ: Snapshot is the constructor). T's fields must
// be plain, so this panics only on a programming error that every test
// run hits.
func objectOf[T any](name, doc string) celenv.Object {
	objs, err := celenv.ObjectsOf(celenv.TypePrefix, reflect.TypeFor[T]())
	if err != nil || len(objs) != 1 {
		panic(fmt.Sprintf("object type %s: %v (%d objects)", name, err, len(objs)))
	}
	o := objs[0]
	o.Name, o.Doc = celenv.TypePrefix+name, doc
	return o
}

// ownedMeta is the metadata of an object function fn creates. LabelPhase
// lets a resumed phase tell its own objects from a user's.
func ownedMeta(rt *function.Runtime, fn, namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: namespace,
		Labels:    map[string]string{labelManagedBy: managedBy, LabelFunction: fn, LabelPhase: rt.Names.Prefix()},
	}
}

// createdBy reports whether the phase of rt created obj.
func createdBy(rt *function.Runtime, obj metav1.Object) bool {
	return obj.GetLabels()[LabelPhase] == rt.Names.Prefix()
}

// poll checks cond now and then every pollInterval until it is done, fails
// or ctx ends.
func poll(ctx context.Context, cond wait.ConditionWithContextFunc) error {
	return pollEvery(ctx, pollInterval, cond)
}

// pollEvery is poll with its own interval.
func pollEvery(ctx context.Context, every time.Duration, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextCancel(ctx, every, true, cond)
}

// waitBound waits until every claim is Bound. On timeout the error names
// the claims still waiting.
func waitBound(ctx context.Context, kube kubernetes.Interface, namespace string, claims []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := map[string]string{}
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		clear(pending)
		for _, name := range claims {
			pvc, err := kube.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, fmt.Errorf("get claim %s/%s: %w", namespace, name, err)
			}
			if pvc.Status.Phase != corev1.ClaimBound {
				pending[name] = cmp.Or(string(pvc.Status.Phase), string(corev1.ClaimPending))
			}
		}
		return len(pending) == 0, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("claims in %s not bound within %s: %s: %w", namespace, timeout, joinProblems(pending), err)
	}
	return err
}

// waitsForFirstConsumer reports whether claims of StorageClass name (""
// for the cluster's default) bind only once a pod uses them, in which
// case waiting for Bound would wait forever.
func waitsForFirstConsumer(ctx context.Context, kube kubernetes.Interface, name string) (bool, error) {
	var sc *storagev1.StorageClass
	if name == "" {
		list, err := kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, fmt.Errorf("list StorageClasses: %w", err)
		}
		for i := range list.Items {
			if list.Items[i].Annotations[annotationDefaultStorageClass] == "true" {
				sc = &list.Items[i]
			}
		}
	} else {
		got, err := kube.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil // the provisioner will complain; waiting shows it
		}
		if err != nil {
			return false, fmt.Errorf("get StorageClass %s: %w", name, err)
		}
		sc = got
	}
	return sc != nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

// volumeSnapshotRef is the dataSource of a claim made from VolumeSnapshot vs.
func volumeSnapshotRef(vs string) *corev1.TypedLocalObjectReference {
	return &corev1.TypedLocalObjectReference{APIGroup: &snapv1.SchemeGroupVersion.Group, Kind: "VolumeSnapshot", Name: vs}
}

// largerQuantity returns the larger of two quantities; an empty or
// unparsable one loses.
func largerQuantity(a, b string) string {
	qa, errA := resource.ParseQuantity(a)
	qb, errB := resource.ParseQuantity(b)
	switch {
	case errA != nil:
		return b
	case errB != nil:
		return a
	case qb.Cmp(qa) > 0:
		return b
	}
	return a
}

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

// cleanupContext is a context for deleting what a failed call created: it
// outlives the call's context, which may be what ran out, but not by much.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
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
// and the driver, and a caller that promises no leftovers must wait.
func awaitRetired(ctx context.Context, cs snapshotclient.Interface, ns string, names []string) error {
	var left []string
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		left = left[:0]
		for _, n := range names {
			_, err := cs.SnapshotV1().VolumeSnapshots(ns).Get(ctx, n, metav1.GetOptions{})
			if err == nil {
				left = append(left, "VolumeSnapshot "+ns+"/"+n)
			} else if !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("get VolumeSnapshot %s/%s: %w", ns, n, err)
			}
		}
		list, err := cs.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, fmt.Errorf("list VolumeSnapshotContents: %w", err)
		}
		for _, c := range list.Items {
			if ref := c.Spec.VolumeSnapshotRef; ref.Namespace == ns && slices.Contains(names, ref.Name) {
				left = append(left, "VolumeSnapshotContent "+c.Name)
			}
		}
		return len(left) == 0, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("still being deleted: %s: %w", strings.Join(left, ", "), err)
	}
	return err
}

// claim is a bound claim and the CSI driver of its volume.
type claim struct {
	pvc    *corev1.PersistentVolumeClaim
	driver string
}

func (c claim) String() string       { return c.pvc.Namespace + "/" + c.pvc.Name }
func (c claim) storageClass() string { return ptr.Deref(c.pvc.Spec.StorageClassName, "") }

// getClaims gets the claims and their volumes' drivers, reporting every
// claim that cannot be snapshotted at once.
func getClaims(ctx context.Context, kube kubernetes.Interface, ns string, names []string) ([]claim, error) {
	var out []claim
	var errs []error
	for _, name := range names {
		pvc, err := kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			errs = append(errs, function.Permanent(fmt.Errorf("claim %s/%s does not exist", ns, name)))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("get claim %s/%s: %w", ns, name, err))
			continue
		case pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "":
			errs = append(errs, fmt.Errorf("claim %s/%s is %s, not Bound: only a bound claim has a volume to snapshot", ns, name, pvc.Status.Phase))
			continue
		}
		pv, err := kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("get volume %s of claim %s/%s: %w", pvc.Spec.VolumeName, ns, name, err))
			continue
		}
		if pv.Spec.CSI == nil {
			errs = append(errs, function.Permanent(fmt.Errorf("volume %s of claim %s/%s is not a CSI volume, so it has no CSI snapshots", pv.Name, ns, name)))
			continue
		}
		out = append(out, claim{pvc: pvc, driver: pv.Spec.CSI.Driver})
	}
	return out, errors.Join(errs...)
}

// joinProblems renders what is wrong, by object, in a stable order.
func joinProblems(problems map[string]string) string {
	var parts []string
	for k, v := range problems {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
