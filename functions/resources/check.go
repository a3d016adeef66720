package resources

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// NoKindError is an object whose kind the cluster does not serve. It
// unwraps to the RESTMapper's error.
type NoKindError struct {
	Ref     Ref
	Version string
	Err     error
}

func (e *NoKindError) Error() string {
	return fmt.Sprintf("the cluster has no kind %s (%s) for %s", e.Ref.GroupKind(), e.Version, e.Ref)
}

func (e *NoKindError) Unwrap() error { return e.Err }

// Check finds, before anything is created, every object Apply could not
// create: one whose kind the cluster lacks, one without a kind, name or
// (when namespaced) namespace, one whose owner references or (for a
// workload) replicas are malformed; and an unknown Policy. The error lists
// them all.
func (a Applier) Check(objs []*unstructured.Unstructured) error {
	_, err := a.check(objs)
	return err
}

// check is Check that also returns each object's mapping.
func (a Applier) check(objs []*unstructured.Unstructured) ([]*meta.RESTMapping, error) {
	var errs []error
	switch a.Policy {
	case "", PolicySkip, PolicyUpdate, PolicyFail:
	default:
		errs = append(errs, fmt.Errorf("unknown policy %q: want %s, %s or %s", a.Policy, PolicySkip, PolicyUpdate, PolicyFail))
	}
	if a.Mapper == nil {
		return nil, errors.New("no RESTMapper")
	}
	mappings := make([]*meta.RESTMapping, len(objs))
	for i, obj := range objs {
		m, err := a.checkOne(obj)
		if err != nil {
			errs = append(errs, fmt.Errorf("object %d: %w", i, err))
		}
		mappings[i] = m
	}
	return mappings, errors.Join(errs...)
}

func (a Applier) checkOne(obj *unstructured.Unstructured) (*meta.RESTMapping, error) {
	if obj == nil {
		return nil, errors.New("no object")
	}
	ref, gvk := RefOf(obj), obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("%s has no kind or apiVersion", ref)
	}
	if ref.Name == "" {
		return nil, fmt.Errorf("%s has no name", ref)
	}
	m, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return nil, &NoKindError{Ref: ref, Version: gvk.Version, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", ref, err)
	}
	if namespaced(m) && ref.Namespace == "" {
		return nil, fmt.Errorf("%s is namespaced but has no namespace", ref)
	}
	if v, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "ownerReferences"); found {
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("%s: ownerReferences is a %T, not a list", ref, v)
		}
	}
	if workloadGKs[ref.GroupKind()] {
		if _, err := replicasOf(obj); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
	}
	return m, nil
}
