package resources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func typed(apiVersion, kind, name string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	obj.SetName(name)
	return obj
}

func names(objs []*unstructured.Unstructured) []string {
	var s []string
	for _, obj := range objs {
		if obj == nil {
			s = append(s, "nil")
			continue
		}
		s = append(s, RefOf(obj).String())
	}
	return s
}

func TestOrder(t *testing.T) {
	in := []*unstructured.Unstructured{
		typed("example.com/v1", "Gadget", "g"),
		typed("networking.k8s.io/v1", "Ingress", "web"),
		typed("autoscaling/v2", "HorizontalPodAutoscaler", "web"),
		typed("apps/v1", "StatefulSet", "db"),
		nil,
		typed("v1", "Pod", "once"),
		typed("apps/v1", "Deployment", "web"),
		typed("policy/v1", "PodDisruptionBudget", "web"),
		typed("networking.k8s.io/v1", "NetworkPolicy", "web"),
		typed("v1", "Service", "web"),
		typed("v1", "PersistentVolumeClaim", "data"),
		typed("v1", "ResourceQuota", "q"),
		typed("v1", "Secret", "s"),
		typed("v1", "ConfigMap", "c"),
		typed("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
		typed("rbac.authorization.k8s.io/v1", "Role", "r"),
		typed("v1", "ServiceAccount", "sa"),
		typed("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gadgets.example.com"),
		typed("v1", "Namespace", "shop"),
		typed("example.com/v1", "Widget", "w"),
	}
	before := names(in)
	got := names(Order(in))
	want := []string{
		"Namespace/shop",
		"CustomResourceDefinition.apiextensions.k8s.io/gadgets.example.com",
		"ServiceAccount/sa",
		"Role.rbac.authorization.k8s.io/r",
		"RoleBinding.rbac.authorization.k8s.io/rb",
		"Secret/s", // same rank as ConfigMap: input order
		"ConfigMap/c",
		"ResourceQuota/q",
		"PersistentVolumeClaim/data",
		"Service/web",
		"NetworkPolicy.networking.k8s.io/web",
		"PodDisruptionBudget.policy/web",
		"StatefulSet.apps/db",
		"Pod/once",
		"Deployment.apps/web",
		"HorizontalPodAutoscaler.autoscaling/web",
		"Ingress.networking.k8s.io/web",
		"Gadget.example.com/g",
		"Widget.example.com/w",
		"nil",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, names(in)); diff != "" {
		t.Errorf("Order changed its input (-before +after):\n%s", diff)
	}
}

func TestCountByKind(t *testing.T) {
	got := CountByKind([]Ref{
		{Kind: "ConfigMap", Namespace: "a", Name: "x"},
		{Kind: "ConfigMap", Namespace: "a", Name: "y"},
		{Group: "apps", Kind: "Deployment", Namespace: "a", Name: "web"},
		{Kind: "Namespace", Name: "a"},
	})
	want := map[string]int{"ConfigMap": 2, "Deployment.apps": 1, "Namespace": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
