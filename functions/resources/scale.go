package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// ReplicasAnnotation holds a workload's captured replicas while Apply
// keeps it at zero, until ScaleUp.
const ReplicasAnnotation = "snapflow.dev/replicas"

// workloadGKs are the kinds Apply creates at zero replicas, so that no pod
// starts before the volumes are restored.
var workloadGKs = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}:  true,
	{Group: "apps", Kind: "StatefulSet"}: true,
	{Group: "apps", Kind: "ReplicaSet"}:  true,
}

// replicasOf is a workload's spec.replicas, 1 when unset as the API
// defaults it.
func replicasOf(obj *unstructured.Unstructured) (int64, error) {
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, "spec", "replicas")
	if err != nil {
		return 0, fmt.Errorf("spec.replicas: %w", err)
	}
	if !found || v == nil {
		return 1, nil
	}
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case float64:
		if n == math.Trunc(n) && n >= 0 && n <= math.MaxInt32 {
			return int64(n), nil
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("spec.replicas is %v, not a whole number", v)
}

// holdReplicas returns obj as Apply creates it: a workload at zero
// replicas with its captured replicas in ReplicasAnnotation; any other
// object as it is.
func holdReplicas(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if !workloadGKs[RefOf(obj).GroupKind()] {
		return obj, nil
	}
	n, err := replicasOf(obj)
	if err != nil {
		return nil, err
	}
	out, err := copyObject(obj)
	if err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedField(out.Object, int64(0), "spec", "replicas"); err != nil {
		return nil, fmt.Errorf("spec.replicas: %w", err)
	}
	annotations := out.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[ReplicasAnnotation] = strconv.FormatInt(n, 10)
	out.SetAnnotations(annotations)
	return out, nil
}

// ScaleUp gives each workload of created that still carries
// ReplicasAnnotation its captured replicas back, and drops the annotation
// in the same patch. Objects without it (skipped by Apply, or scaled
// already) are left alone, so a repeated ScaleUp does nothing. It returns
// the workloads it scaled, also on an error.
func (a Applier) ScaleUp(ctx context.Context, created []Ref) ([]Ref, error) {
	var scaled []Ref
	for _, ref := range created {
		if !workloadGKs[ref.GroupKind()] {
			continue
		}
		ok, err := a.scaleUp(ctx, ref)
		if err != nil {
			return scaled, fmt.Errorf("scale up %s: %w", ref, err)
		}
		if ok {
			scaled = append(scaled, ref)
		}
	}
	return scaled, nil
}

func (a Applier) scaleUp(ctx context.Context, ref Ref) (bool, error) {
	m, err := a.Mapper.RESTMapping(ref.GroupKind())
	if err != nil {
		return false, err
	}
	res := a.resource(m, ref.Namespace)
	obj, err := res.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	v, ok := obj.GetAnnotations()[ReplicasAnnotation]
	if !ok {
		return false, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return false, fmt.Errorf("annotation %s is %q, not a number of replicas", ReplicasAnnotation, v)
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{ReplicasAnnotation: nil}},
		"spec":     map[string]any{"replicas": n},
	})
	if err != nil {
		return false, err
	}
	_, err = res.Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	return err == nil, err
}
