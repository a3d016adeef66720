package functions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/engine/function"
)

// CloneReadOnly creates a ReadOnlyMany claim from each snapshot, for an
// exporter to read. Drivers such as Ceph RBD copy a whole volume for a
// read-write clone but give a read-only one as a shallow clone, so
// exporting from a read-only clone is cheap. The clones are deleted when
// the action ends unless keep is set.
func CloneReadOnly() function.Function {
	return function.Typed[CloneReadOnlyArgs, CloneReadOnlyOutputs]{Sig: cloneReadOnlySignature, Run: runCloneReadOnly, Rel: releaseClone}
}

var cloneObject = objectOf[Clone]("Clone", "a read-only claim cloned from a snapshot")

var cloneReadOnlySignature = function.Signature{
	Name: "cloneReadOnly",
	Doc:  "Creates a ReadOnlyMany claim from each snapshot, so an exporter reads a shallow clone; deleted when the action ends unless kept.",
	Args: []function.Arg{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Required: true,
			Doc: "the snapshots to clone, e.g. ${{ phases.snap.snapshots }}"},
		{Name: "storageClasses", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{},
			Doc: "clone StorageClass by source StorageClass; a source class missing here uses its annotation " +
				annotationCloneStorageClass + ", else itself"},
		{Name: "keep", Type: cel.BoolType, Default: false, Doc: "keep the clones when the action ends"},
		{Name: "timeout", Type: cel.DurationType, Default: "5m",
			Doc: "how long the clones may take to bind; not waited for with a WaitForFirstConsumer class"},
	},
	Outputs: []function.Output{
		{Name: "pvcs", Type: cel.ListType(cloneObject.Type()), Doc: "one clone per snapshot, in order"},
	},
	Objects: []celenv.Object{cloneObject},
}

// CloneReadOnlyArgs are cloneReadOnly's arguments.
type CloneReadOnlyArgs struct {
	Snapshots      []SnapshotRecord  `json:"snapshots"`
	StorageClasses map[string]string `json:"storageClasses"`
	Keep           bool              `json:"keep"`
	Timeout        metav1.Duration   `json:"timeout"`
}

// CloneReadOnlyOutputs are cloneReadOnly's outputs.
type CloneReadOnlyOutputs struct {
	PVCs []Clone `json:"pvcs"`
}

// Clone is a read-only claim made from a snapshot, the CEL type
// snapflow.Clone.
type Clone struct {
	Name           string `json:"name" doc:"claim name"`
	Namespace      string `json:"namespace" doc:"claim namespace, the snapshot's"`
	SourcePVC      string `json:"sourcePVC" doc:"the claim the snapshot was taken of"`
	StorageClass   string `json:"storageClass" doc:"StorageClass of the clone; empty for the cluster default"`
	VolumeSnapshot string `json:"volumeSnapshot" doc:"the VolumeSnapshot cloned"`
}

func runCloneReadOnly(ctx context.Context, rt *function.Runtime, in CloneReadOnlyArgs) (CloneReadOnlyOutputs, error) {
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return CloneReadOnlyOutputs{}, err
	}
	if in.Timeout.Duration <= 0 {
		return CloneReadOnlyOutputs{}, function.Permanent(fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	out := CloneReadOnlyOutputs{PVCs: []Clone{}}
	for _, s := range in.Snapshots {
		class, err := cloneClass(ctx, rt, in.StorageClasses, s.StorageClass)
		if err != nil {
			return CloneReadOnlyOutputs{}, err
		}
		c := Clone{Name: rt.Names.Name(s.PVC), Namespace: s.Namespace, SourcePVC: s.PVC, StorageClass: class, VolumeSnapshot: s.VolumeSnapshot}
		if !in.Keep {
			// Recorded before creating, so a crash in between still cleans up.
			if err := rt.Cleanup(ctx, cloneKey(c)); err != nil {
				return CloneReadOnlyOutputs{}, err
			}
		}
		if err := createClone(ctx, rt, c, s); err != nil {
			return CloneReadOnlyOutputs{}, err
		}
		out.PVCs = append(out.PVCs, c)
	}
	failpoint.Hit(failpoint.CloneCreated)
	if err := waitClones(ctx, rt, out.PVCs, in); err != nil {
		return CloneReadOnlyOutputs{}, err
	}
	return out, nil
}

// cloneClass picks the clone's StorageClass: the arg's mapping for the
// source class, else the source class's annotation, else the source class.
func cloneClass(ctx context.Context, rt *function.Runtime, byClass map[string]string, source string) (string, error) {
	if c, ok := byClass[source]; ok {
		return c, nil
	}
	if source == "" {
		return "", nil
	}
	sc, err := rt.Clients.Kube.StorageV1().StorageClasses().Get(ctx, source, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return source, nil // the provisioner will say the class is missing
	case err != nil:
		return "", fmt.Errorf("get StorageClass %s: %w", source, err)
	case sc.Annotations[annotationCloneStorageClass] != "":
		return sc.Annotations[annotationCloneStorageClass], nil
	}
	return source, nil
}

// createClone creates the read-only claim c from snapshot s, or adopts it
// if an earlier attempt of this phase did.
func createClone(ctx context.Context, rt *function.Runtime, c Clone, s SnapshotRecord) error {
	size := largerQuantity(s.RestoreSize, s.Size)
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return function.Permanent(fmt.Errorf("snapshot %s/%s: neither restoreSize %q nor size %q is a quantity", s.Namespace, s.VolumeSnapshot, s.RestoreSize, s.Size))
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: ownedMeta(rt, cloneReadOnlySignature.Name, c.Namespace, c.Name),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany},
			DataSource:  volumeSnapshotRef(s.VolumeSnapshot),
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
		},
	}
	if c.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr.To(c.StorageClass)
	}
	if s.VolumeMode != "" {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeMode(s.VolumeMode))
	}
	claims := rt.Clients.Kube.CoreV1().PersistentVolumeClaims(c.Namespace)
	_, err = claims.Create(ctx, pvc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var have *corev1.PersistentVolumeClaim
		have, err = claims.Get(ctx, c.Name, metav1.GetOptions{})
		if err == nil && (!createdBy(rt, have) || have.Spec.DataSource == nil || have.Spec.DataSource.Name != s.VolumeSnapshot) {
			err = function.Permanent(fmt.Errorf("it exists but is not this phase's clone of VolumeSnapshot %s", s.VolumeSnapshot))
		}
	}
	if err != nil {
		return fmt.Errorf("create clone %s/%s of VolumeSnapshot %s: %w", c.Namespace, c.Name, s.VolumeSnapshot, err)
	}
	return nil
}

// waitClones waits until the clones are bound, except those whose class
// binds only for a pod, which would never bind without one.
func waitClones(ctx context.Context, rt *function.Runtime, clones []Clone, in CloneReadOnlyArgs) error {
	byNS := map[string][]string{}
	var deferred []string
	for _, c := range clones {
		wffc, err := waitsForFirstConsumer(ctx, rt.Clients.Kube, c.StorageClass)
		if err != nil {
			return err
		}
		if wffc {
			deferred = append(deferred, c.Name)
			continue
		}
		byNS[c.Namespace] = append(byNS[c.Namespace], c.Name)
	}
	if len(deferred) > 0 {
		rt.Message("not waiting for clones " + strings.Join(deferred, ", ") + ": their StorageClass binds them when a pod first uses them")
	}
	ctx, cancel := context.WithTimeout(ctx, in.Timeout.Duration) // for all clones together
	defer cancel()
	var errs []error
	for ns, names := range byNS {
		errs = append(errs, waitBound(ctx, rt.Clients.Kube, ns, names, in.Timeout.Duration))
	}
	return errors.Join(errs...)
}

// cloneKey is the cleanup key of a clone: "pvc/<namespace>/<name>".
func cloneKey(c Clone) string { return "pvc/" + c.Namespace + "/" + c.Name }

// releaseClone deletes the clone a cleanup key names; gone already is fine.
func releaseClone(ctx context.Context, rt *function.Runtime, key string) error {
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return err
	}
	parts := strings.Split(key, "/")
	if len(parts) != 3 || parts[0] != "pvc" {
		return function.Permanent(fmt.Errorf("cloneReadOnly: unknown cleanup key %q", key))
	}
	err := rt.Clients.Kube.CoreV1().PersistentVolumeClaims(parts[1]).Delete(ctx, parts[2], metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete clone %s/%s: %w", parts[1], parts[2], err)
	}
	return nil
}
