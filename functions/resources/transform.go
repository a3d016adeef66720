package resources

import (
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Transforms change captured objects before they are created again.
type Transforms struct {
	Namespaces     map[string]string // new namespace by captured namespace
	StorageClasses map[string]string // new StorageClass by captured one (PVC spec.storageClassName, StatefulSet volumeClaimTemplates)
	Patches        []Patch
}

// Patch is an RFC 6902 JSON patch applied to every object of a group-kind
// (and name, when set).
type Patch struct {
	Group string           `json:"group,omitempty"`
	Kind  string           `json:"kind"`
	Name  string           `json:"name,omitempty"`
	Patch []map[string]any `json:"patch"` // the operations, e.g. [{"op":"replace","path":"/spec/replicas","value":2}]
}

// storageClassAnnotation is the claim's class before spec.storageClassName;
// the PersistentVolume controller still prefers it, so it is mapped too.
const storageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

var (
	namespaceGK          = schema.GroupKind{Kind: "Namespace"}
	claimGK              = schema.GroupKind{Kind: "PersistentVolumeClaim"}
	statefulSetGK        = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	roleBindingGK        = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}
	clusterRoleBindingGK = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}
)

// Transform returns copies of objs with t applied: the namespace and
// storage class mappings, then the patches in order. Patches match objects
// by their name after the mappings. A patch that fails or matches nothing
// is an error, so a typo does not go unnoticed.
func Transform(objs []*unstructured.Unstructured, t Transforms) ([]*unstructured.Unstructured, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		c, err := copyObject(obj)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		t.mapNamespaces(c)
		t.mapStorageClasses(c)
		out[i] = c
	}
	for i, p := range t.Patches {
		if err := p.apply(i, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t Transforms) validate() error {
	var errs []error
	for from, to := range t.Namespaces {
		if to == "" {
			errs = append(errs, fmt.Errorf("namespace %q maps to an empty namespace", from))
		}
	}
	for i, p := range t.Patches {
		if p.Kind == "" {
			errs = append(errs, fmt.Errorf("patch %d has no kind", i))
		}
	}
	return errors.Join(errs...)
}

// copyObject deep-copies obj through JSON: unlike DeepCopy it returns an
// error, not a panic, on values JSON does not have (an int, a func).
func copyObject(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, errors.New("no object")
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", RefOf(obj), err)
	}
	return decodeObject(data)
}

// decodeObject decodes a JSON object, its integers as int64 as the
// unstructured helpers expect.
func decodeObject(data []byte) (*unstructured.Unstructured, error) {
	var m map[string]any
	if err := utiljson.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func (t Transforms) mapNamespaces(obj *unstructured.Unstructured) {
	if len(t.Namespaces) == 0 {
		return
	}
	if to, ok := t.Namespaces[obj.GetNamespace()]; ok && obj.GetNamespace() != "" {
		obj.SetNamespace(to)
	}
	switch RefOf(obj).GroupKind() {
	case namespaceGK:
		to, ok := t.Namespaces[obj.GetName()]
		if !ok {
			return
		}
		obj.SetName(to)
		if labels := obj.GetLabels(); labels["kubernetes.io/metadata.name"] != "" {
			labels["kubernetes.io/metadata.name"] = to
			obj.SetLabels(labels)
		}
	case roleBindingGK, clusterRoleBindingGK:
		mapEach(obj.Object, []string{"subjects"}, func(s map[string]any) {
			ns, _ := s["namespace"].(string)
			if to, ok := t.Namespaces[ns]; ok && s["kind"] == "ServiceAccount" {
				s["namespace"] = to
			}
		})
	}
}

func (t Transforms) mapStorageClasses(obj *unstructured.Unstructured) {
	if len(t.StorageClasses) == 0 {
		return
	}
	switch RefOf(obj).GroupKind() {
	case claimGK:
		t.mapClaim(obj.Object)
	case statefulSetGK:
		mapEach(obj.Object, []string{"spec", "volumeClaimTemplates"}, t.mapClaim)
	}
}

// mapClaim maps the class of a claim or claim template.
func (t Transforms) mapClaim(claim map[string]any) {
	for _, path := range [][]string{
		{"spec", "storageClassName"},
		{"metadata", "annotations", storageClassAnnotation},
	} {
		class, found, err := unstructured.NestedString(claim, path...)
		if to, ok := t.StorageClasses[class]; ok && found && err == nil {
			_ = unstructured.SetNestedField(claim, to, path...)
		}
	}
}

// mapEach calls f on each object of the list at path in m, in place;
// entries that are not objects are left alone.
func mapEach(m map[string]any, path []string, f func(map[string]any)) {
	list, found, err := unstructured.NestedFieldNoCopy(m, path...)
	items, ok := list.([]any)
	if !found || err != nil || !ok {
		return
	}
	for _, item := range items {
		if obj, ok := item.(map[string]any); ok {
			f(obj)
		}
	}
}

func (p Patch) gk() schema.GroupKind { return schema.GroupKind{Group: p.Group, Kind: p.Kind} }

// String names what the patch matches: Kind[.group][/name].
func (p Patch) String() string {
	s := p.gk().String()
	if p.Name != "" {
		s += "/" + p.Name
	}
	return s
}

// apply applies patch i to each object it matches, in place.
func (p Patch) apply(i int, objs []*unstructured.Unstructured) error {
	ops, err := json.Marshal(p.Patch)
	if err != nil {
		return fmt.Errorf("patch %d (%s): %w", i, p, err)
	}
	decoded, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		return fmt.Errorf("patch %d (%s): %w", i, p, err)
	}
	matched := false
	for j, obj := range objs {
		if RefOf(obj).GroupKind() != p.gk() || (p.Name != "" && obj.GetName() != p.Name) {
			continue
		}
		matched = true
		if objs[j], err = patchObject(obj, decoded); err != nil {
			return fmt.Errorf("patch %d (%s) on %s: %w", i, p, RefOf(obj), err)
		}
	}
	if !matched {
		return fmt.Errorf("patch %d (%s) matches no captured object%s", i, p, p.hint(objs))
	}
	return nil
}

func patchObject(obj *unstructured.Unstructured, patch jsonpatch.Patch) (*unstructured.Unstructured, error) {
	doc, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	patched, err := patch.Apply(doc)
	if err != nil {
		return nil, err
	}
	return decodeObject(patched)
}

// hint names a captured group-kind of the patch's kind in another group:
// a missing or wrong group is the likely typo.
func (p Patch) hint(objs []*unstructured.Unstructured) string {
	for _, obj := range objs {
		if gk := RefOf(obj).GroupKind(); gk.Kind == p.Kind && gk.Group != p.Group {
			return fmt.Sprintf(" (%s was captured: is the group %q?)", gk, gk.Group)
		}
	}
	return ""
}
