package functions

// Ownership: the labels and annotations functions read and write, the metadata of the objects they create, and the context for cleaning those up.

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
)

// Labels on the objects functions create, so they can be listed and traced
// back to their phase.
const (
	LabelFunction = "snapflow.dev/function"
	LabelPhase    = "snapflow.dev/actionset-phase" // Names.Prefix() of the phase
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

// cleanupTimeout bounds deleting what a failed call created; it runs on a
// context of its own because the call's may be what ran out.
const cleanupTimeout = 30 * time.Second

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

// cleanupContext is a context for deleting what a failed call created: it
// outlives the call's context, which may be what ran out, but not by much.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
