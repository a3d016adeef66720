package resources

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// Scope says which objects Capture takes.
type Scope struct {
	Namespace string
	// Workload, when set, narrows the capture to it and what it
	// references or what selects its pods; nil takes the whole namespace.
	Workload *Ref
	// Selector, when not empty, keeps only the objects whose labels
	// match it (the workload itself is always kept).
	Selector labels.Selector
	// Include, when not empty, keeps only these group-kinds; Exclude
	// drops these. The workload itself is always kept.
	Include, Exclude []schema.GroupKind
	// Skip drops objects the caller knows are its own, such as mover
	// pods; nil drops none.
	Skip func(*unstructured.Unstructured) bool
}

// Capturer reads what a Scope names, as the run's account.
type Capturer struct {
	Dynamic   dynamic.Interface
	Mapper    meta.RESTMapper
	Discovery discovery.DiscoveryInterface // for a whole namespace
}

// Capture returns the cleaned objects of scope: its Namespace (when the
// account may read it), then the workload, then the rest by kind and
// name.
func (c Capturer) Capture(ctx context.Context, s Scope) (Bundle, error) {
	var objs []*unstructured.Unstructured
	var err error
	if s.Workload != nil {
		objs, err = c.workloadObjects(ctx, s)
	} else {
		objs, err = c.namespaceObjects(ctx, s)
	}
	if err != nil {
		return Bundle{}, err
	}
	objs = s.filter(objs)
	if ns, err := c.namespace(ctx, s.Namespace); err != nil {
		return Bundle{}, err
	} else if ns != nil {
		objs = append([]*unstructured.Unstructured{ns}, objs...)
	}
	captured := map[Ref]bool{}
	for _, o := range objs {
		captured[RefOf(o)] = true
	}
	b := Bundle{Version: BundleVersion}
	for _, o := range objs {
		b.Objects = append(b.Objects, Clean(o, captured))
	}
	return b, nil
}

// filter applies the selector, the kind filters and Skip, keeps the
// workload first and sorts the rest.
func (s Scope) filter(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var head, rest []*unstructured.Unstructured
	seen := map[Ref]bool{}
	for _, o := range objs {
		ref := RefOf(o)
		switch {
		case seen[ref]:
		case s.Workload != nil && ref == *s.Workload:
			head = append(head, o)
		case s.Skip != nil && s.Skip(o), !s.keepsKind(ref.GroupKind()),
			s.Selector != nil && !s.Selector.Empty() && !s.Selector.Matches(labels.Set(o.GetLabels())):
		default:
			rest = append(rest, o)
		}
		seen[ref] = true
	}
	slices.SortStableFunc(rest, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(RefOf(a).String(), RefOf(b).String())
	})
	return append(head, rest...)
}

func (s Scope) keepsKind(gk schema.GroupKind) bool {
	if slices.Contains(s.Exclude, gk) {
		return false
	}
	return len(s.Include) == 0 || slices.Contains(s.Include, gk)
}

// namespace is the Namespace object, or nil when the account may not
// read it: a namespaced runner still captures what is inside.
func (c Capturer) namespace(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	obj, err := c.get(ctx, schema.GroupKind{Kind: "Namespace"}, "", name)
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(obj.Object, "spec", "finalizers")
	return obj, nil
}

// resource is gk's client in namespace.
func (c Capturer) resource(gk schema.GroupKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.Mapper.RESTMapping(gk)
	if err != nil {
		return nil, fmt.Errorf("find the API of %s: %w", gk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return c.Dynamic.Resource(m.Resource), nil
	}
	return c.Dynamic.Resource(m.Resource).Namespace(namespace), nil
}

func (c Capturer) get(ctx context.Context, gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, error) {
	api, err := c.resource(gk, namespace)
	if err != nil {
		return nil, err
	}
	obj, err := api.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Ref{Group: gk.Group, Kind: gk.Kind, Namespace: namespace, Name: name}, err)
	}
	return obj, nil
}

// list is every gk in namespace; a kind the cluster lacks lists nothing.
func (c Capturer) list(ctx context.Context, gk schema.GroupKind, namespace string) ([]unstructured.Unstructured, error) {
	api, err := c.resource(gk, namespace)
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := api.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", gk, namespace, err)
	}
	return l.Items, nil
}
