package resources

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// fillOwners gives each owner reference that Clean left without a uid the
// uid of the owner as it now exists, and drops the reference when the
// owner does not: a reference needs the uid, and one to a missing owner
// would have the garbage collector delete obj.
func (r *applyRun) fillOwners(ctx context.Context, obj *unstructured.Unstructured) error {
	raw, found, err := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "ownerReferences")
	if !found || err != nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("%s: ownerReferences is a %T, not a list", RefOf(obj), raw)
	}
	var keep []any
	for _, item := range list {
		owner, ok := item.(map[string]any)
		if !ok {
			continue
		}
		if uid, _ := owner["uid"].(string); uid != "" {
			keep = append(keep, owner)
			continue
		}
		uid, err := r.ownerUID(ctx, obj, owner)
		if err != nil {
			return err
		}
		if uid == "" {
			logr.FromContextOrDiscard(ctx).Info("dropping an owner reference: the owner does not exist",
				"object", RefOf(obj).String(), "owner", owner["kind"], "name", owner["name"])
			continue
		}
		owner["uid"] = string(uid)
		keep = append(keep, owner)
	}
	if len(keep) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "ownerReferences")
		return nil
	}
	return unstructured.SetNestedField(obj.Object, keep, "metadata", "ownerReferences")
}

// ownerUID is the uid of obj's owner, "" when it does not exist: its kind
// is not served, or there is no such object in obj's namespace (or the
// cluster, for a cluster-scoped owner).
func (r *applyRun) ownerUID(ctx context.Context, obj *unstructured.Unstructured, owner map[string]any) (types.UID, error) {
	apiVersion, _ := owner["apiVersion"].(string)
	kind, _ := owner["kind"].(string)
	name, _ := owner["name"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || kind == "" || name == "" {
		return "", nil
	}
	m, err := r.Mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
	if meta.IsNoMatchError(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("map owner %s %s of %s: %w", kind, name, RefOf(obj), err)
	}
	ref := Ref{Group: gv.Group, Kind: kind, Name: name}
	if namespaced(m) {
		ref.Namespace = obj.GetNamespace()
	}
	if uid, ok := r.uids[ref]; ok {
		return uid, nil
	}
	got, err := r.resource(m, ref.Namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		r.uids[ref] = ""
	case err != nil:
		return "", fmt.Errorf("get owner %s of %s: %w", ref, RefOf(obj), err)
	default:
		r.uids[ref] = got.GetUID()
	}
	return r.uids[ref], nil
}
