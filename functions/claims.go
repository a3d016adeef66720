package functions

// Claims: looking up claims and their drivers, waiting for them to bind, and making them from snapshots.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

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

// waitBound waits until every claim is Bound, watching them. On timeout
// the error names the claims still waiting.
func waitBound(ctx context.Context, kube kubernetes.Interface, namespace string, claims []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := map[string]string{}
	err := untilAllNamed(ctx, claimsListWatch(kube, namespace, claims), &corev1.PersistentVolumeClaim{}, claims,
		func(pvcs map[string]*corev1.PersistentVolumeClaim) (bool, error) {
			clear(pending)
			for _, name := range claims {
				pvc := pvcs[name]
				if pvc == nil {
					return false, fmt.Errorf("claim %s/%s does not exist", namespace, name)
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

// claimsListWatch lists and watches the claims called names.
func claimsListWatch(kube kubernetes.Interface, namespace string, names []string) cache.ListerWatcher {
	pvcs := kube.CoreV1().PersistentVolumeClaims(namespace)
	return namesListWatch(kube, names,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pvcs.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return pvcs.Watch(ctx, o) })
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
