package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Policy says what Apply does with an object that exists.
type Policy string

const (
	PolicySkip   Policy = "skip"   // leave it as it is (default)
	PolicyUpdate Policy = "update" // server-side apply the captured object with FieldManager, Force
	PolicyFail   Policy = "fail"   // fail naming it
)

// FieldManager is snapflow's server-side apply field manager.
const FieldManager = "snapflow"

// Applier creates captured objects again in a cluster.
type Applier struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	Policy  Policy // empty is PolicySkip
}

// Applied is what Apply did, per object.
type Applied struct {
	Created []Ref `json:"created"`
	Skipped []Ref `json:"skipped"`
	Updated []Ref `json:"updated"`
}

// Apply creates objs in their order (see Order) after Check passes, and
// the namespaces they need. Workloads it creates start at zero replicas
// until ScaleUp; one it updates gets its captured replicas, as it existed
// and may be running. What exists is handled by the Policy. On an error it
// returns what it did so far, which the error lists too.
func (a Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured) (Applied, error) {
	mappings, err := a.check(objs)
	if err != nil {
		return Applied{}, err
	}
	if a.Dynamic == nil {
		return Applied{}, errors.New("no dynamic client")
	}
	r := &applyRun{Applier: a, namespaces: map[string]bool{}, uids: map[Ref]types.UID{}}
	for i, obj := range objs {
		if err := ctx.Err(); err != nil {
			return r.done, r.halfway(err)
		}
		if err := r.apply(ctx, obj, mappings[i]); err != nil {
			return r.done, r.halfway(err)
		}
	}
	return r.done, nil
}

// applyRun is one Apply: what it did and what it learnt of the cluster.
type applyRun struct {
	Applier
	done       Applied
	namespaces map[string]bool   // known to exist
	uids       map[Ref]types.UID // of owners, "" when gone
}

func (r *applyRun) apply(ctx context.Context, captured *unstructured.Unstructured, m *meta.RESTMapping) error {
	obj, err := copyObject(captured)
	if err != nil {
		return err
	}
	if !namespaced(m) {
		obj.SetNamespace("")
	}
	ref := RefOf(obj)
	if namespaced(m) {
		if err := r.ensureNamespace(ctx, ref); err != nil {
			return err
		}
	}
	if err := r.fillOwners(ctx, obj); err != nil {
		return err
	}
	res := r.resource(m, obj.GetNamespace())
	create, err := holdReplicas(obj)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	made, err := res.Create(ctx, create, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		r.done.Created = append(r.done.Created, ref)
		if made != nil && made.GetUID() != "" {
			r.uids[ref] = made.GetUID()
		}
	case apierrors.IsAlreadyExists(err):
		if err := r.exists(ctx, res, obj, ref, err); err != nil {
			return err
		}
	default:
		return fmt.Errorf("create %s: %w", ref, err)
	}
	if ref.GroupKind() == namespaceGK {
		r.namespaces[ref.Name] = true
	}
	return nil
}

// exists handles an object that exists by the Policy.
func (r *applyRun) exists(ctx context.Context, res dynamic.ResourceInterface, obj *unstructured.Unstructured, ref Ref, err error) error {
	policy := r.Policy
	if ref.GroupKind() == namespaceGK {
		policy = PolicySkip // the volumes' restore may have made it; it holds no app state, and is the cluster's to change
	}
	switch policy {
	case PolicyFail:
		have, getErr := res.Get(ctx, ref.Name, metav1.GetOptions{})
		if getErr != nil {
			return fmt.Errorf("%s exists; read it: %w", ref, getErr)
		}
		if !Holds(have.Object, obj.Object) {
			return fmt.Errorf("%s exists, differs from the captured one, and the policy is fail: %w", ref, err)
		}
		r.done.Skipped = append(r.done.Skipped, ref) // as captured: nothing to fail on
	case PolicyUpdate:
		data, err := json.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("apply %s: %w", ref, err)
		}
		force := true
		opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
		if _, err := res.Patch(ctx, ref.Name, types.ApplyPatchType, data, opts); err != nil {
			return fmt.Errorf("apply %s: %w", ref, err)
		}
		r.done.Updated = append(r.done.Updated, ref)
	default:
		r.done.Skipped = append(r.done.Skipped, ref)
	}
	return nil
}

// namespaceGVR is core v1, served by every cluster.
var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ensureNamespace creates ref's namespace unless it exists. A client that
// may not read namespaces goes on: the create then says if it is missing.
func (r *applyRun) ensureNamespace(ctx context.Context, ref Ref) error {
	ns := ref.Namespace
	if r.namespaces[ns] {
		return nil
	}
	res := r.Dynamic.Resource(namespaceGVR)
	_, err := res.Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil, apierrors.IsForbidden(err):
	case apierrors.IsNotFound(err):
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("v1")
		obj.SetKind("Namespace")
		obj.SetName(ns)
		_, err := res.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
		switch {
		case err == nil:
			r.done.Created = append(r.done.Created, RefOf(obj))
		case !apierrors.IsAlreadyExists(err):
			return fmt.Errorf("create namespace %s for %s: %w", ns, ref, err)
		}
	default:
		return fmt.Errorf("get namespace %s for %s: %w", ns, ref, err)
	}
	r.namespaces[ns] = true
	return nil
}

func (a Applier) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if namespaced(m) {
		return a.Dynamic.Resource(m.Resource).Namespace(namespace)
	}
	return a.Dynamic.Resource(m.Resource)
}

func namespaced(m *meta.RESTMapping) bool {
	return m != nil && m.Scope != nil && m.Scope.Name() == meta.RESTScopeNameNamespace
}

// halfway adds to err what was changed before it, so that nothing half
// applied goes unlisted.
func (r *applyRun) halfway(err error) error {
	var did []string
	if n := len(r.done.Created); n > 0 {
		did = append(did, fmt.Sprintf("creating %s: %s", countObjects(n), joinRefs(r.done.Created)))
	}
	if n := len(r.done.Updated); n > 0 {
		did = append(did, fmt.Sprintf("updating %s: %s", countObjects(n), joinRefs(r.done.Updated)))
	}
	if len(did) == 0 {
		return err
	}
	return fmt.Errorf("%w, after %s", err, strings.Join(did, "; "))
}

func countObjects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}

func joinRefs(refs []Ref) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}
