package resources

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCheck(t *testing.T) {
	a := Applier{Mapper: testMapper(), Policy: "merge"}
	objs := parseObjects(t, `
apiVersion: example.com/v1
kind: Gadget
metadata: {name: ok, namespace: shop}
---
apiVersion: example.com/v1
kind: Foo
metadata: {name: f, namespace: shop}
---
apiVersion: example.com/v2
kind: Gadget
metadata: {name: g, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: loose}
---
apiVersion: v1
kind: ConfigMap
metadata: {namespace: shop}
---
metadata: {name: what}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: three}
---
apiVersion: v1
kind: Namespace
metadata: {name: fine}`)
	objs = append(objs, nil)
	err := a.Check(objs)
	want := `unknown policy "merge": want skip, update or fail
object 1: the cluster has no kind Foo.example.com (v1) for Foo.example.com shop/f
object 2: the cluster has no kind Gadget.example.com (v2) for Gadget.example.com shop/g
object 3: ConfigMap/loose is namespaced but has no namespace
object 4: ConfigMap shop/ has no name
object 5: /what has no kind or apiVersion
object 6: Deployment.apps shop/web: spec.replicas is three, not a whole number
object 8: no object`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
	var noKind *NoKindError
	if !errors.As(err, &noKind) || !meta.IsNoMatchError(noKind) {
		t.Errorf("error %v is no NoKindError wrapping the mapper's", err)
	}
	if err := (Applier{Mapper: testMapper()}).Check(objs[:1]); err != nil {
		t.Errorf("Check(a served object) = %v", err)
	}
}

func TestApplyFakeChecksFirst(t *testing.T) {
	a, client := fakeApplier(t, "")
	objs := parseObjects(t, `
{apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: a}}
---
{apiVersion: example.com/v1, kind: Foo, metadata: {name: f, namespace: a}}`)
	_, err := a.Apply(context.Background(), objs)
	want := "object 1: the cluster has no kind Foo.example.com (v1) for Foo.example.com a/f"
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
	if len(client.Actions()) != 0 {
		t.Errorf("Apply called the cluster before its check failed: %v", verbs(client))
	}
}

func TestApplyFakeOddInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want string
	}{{
		name: "go int",
		obj:  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "namespace": "a"}, "spec": map[string]any{"replicas": 2}},
	}, {
		name: "annotations not a map",
		obj:  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "namespace": "a", "annotations": "x"}},
	}, {
		name: "spec not a map",
		obj:  map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "namespace": "a"}, "spec": "x"},
		want: "object 0: Deployment.apps a/d: spec.replicas: .spec.replicas accessor error: x is of the type string, expected map[string]interface{}",
	}, {
		name: "owner references not a list",
		obj:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "a", "ownerReferences": "x"}},
		want: "object 0: ConfigMap a/c: ownerReferences is a string, not a list",
	}, {
		name: "metadata not a map",
		obj:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"},
		want: "object 0: ConfigMap/ has no name",
	}, {
		name: "a func",
		obj:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "a"}, "f": func() {}},
		want: "copy ConfigMap a/c: json: unsupported type: func()",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := fakeApplier(t, "")
			_, err := a.Apply(context.Background(), []*unstructured.Unstructured{{Object: tc.obj}})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}
