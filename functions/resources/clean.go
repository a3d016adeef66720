// Package resources captures the Kubernetes objects of an application for
// a restore point, and prepares them to be created again: what backing up
// and restoring an application's objects (not only its volumes) needs.
package resources

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Ref names one object: its group-kind, namespace and name.
type Ref struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf is obj's Ref.
func RefOf(obj *unstructured.Unstructured) Ref {
	gk := obj.GroupVersionKind().GroupKind()
	return Ref{Group: gk.Group, Kind: gk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// GroupKind is the Ref's group-kind.
func (r Ref) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

func (r Ref) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return kind + "/" + r.Name
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// boundAnnotations are what the PersistentVolume controller writes on a
// claim it bound; a claim created again must be bound afresh.
var boundAnnotations = []string{
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

// Clean returns a copy of obj without what the cluster owns: status, uid,
// resourceVersion, generation, managedFields, creationTimestamp, deletion
// fields, owner references to objects not in captured (those kept lose
// their uid: the restore sets the new owner's), the last-applied and
// revision annotations, a Service's cluster IPs and health check node
// port, and a claim's volumeName and bind annotations.
func Clean(obj *unstructured.Unstructured, captured map[Ref]bool) *unstructured.Unstructured {
	out := obj.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "managedFields", "creationTimestamp",
		"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generateName"} {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	keepOwners(out, captured)
	dropAnnotations(out, "kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
	switch RefOf(out).GroupKind() {
	case schema.GroupKind{Kind: "Service"}:
		for _, f := range []string{"clusterIP", "clusterIPs", "healthCheckNodePort"} {
			unstructured.RemoveNestedField(out.Object, "spec", f)
		}
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		unstructured.RemoveNestedField(out.Object, "spec", "volumeName")
		dropAnnotations(out, boundAnnotations...)
	}
	return out
}

// keepOwners keeps the owner references to captured objects only: the
// others would make the garbage collector delete the object at once.
func keepOwners(obj *unstructured.Unstructured, captured map[Ref]bool) {
	var keep []map[string]any
	refs, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "ownerReferences")
	for _, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		group, _, _ := strings.Cut(apiVersion, "/")
		if !strings.Contains(apiVersion, "/") {
			group = ""
		}
		if captured[Ref{Group: group, Kind: kind, Namespace: obj.GetNamespace(), Name: name}] {
			delete(m, "uid") // the owner gets a new one
			keep = append(keep, m)
		}
	}
	if len(keep) == 0 {
		unstructured.RemoveNestedField(obj.Object, "metadata", "ownerReferences")
		return
	}
	list := make([]any, len(keep))
	for i, m := range keep {
		list[i] = m
	}
	_ = unstructured.SetNestedSlice(obj.Object, list, "metadata", "ownerReferences")
}

func dropAnnotations(obj *unstructured.Unstructured, keys ...string) {
	a := obj.GetAnnotations()
	for _, k := range keys {
		delete(a, k)
	}
	if len(a) == 0 {
		a = nil
	}
	obj.SetAnnotations(a)
}
