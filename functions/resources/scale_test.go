package resources

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestScaleUpFake(t *testing.T) {
	a, client := fakeApplier(t, "",
		"{apiVersion: v1, kind: Namespace, metadata: {name: shop}}",
		"{apiVersion: apps/v1, kind: Deployment, metadata: {name: old, namespace: shop}, spec: {replicas: 2}}",
	)
	objs := parseObjects(t, `
{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, annotations: {team: a}}, spec: {replicas: 3}}
---
{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: shop}, spec: {}}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: old, namespace: shop}, spec: {replicas: 5}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}`)
	applied, err := a.Apply(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	web := Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	db := Ref{Group: "apps", Kind: "StatefulSet", Namespace: "shop", Name: "db"}
	gone := Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "gone"}
	// Passing a skipped object, or one deleted since, changes nothing.
	refs := append(applied.Created, applied.Skipped[0], gone)
	got, err := a.ScaleUp(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ref{web, db}, got); diff != "" {
		t.Errorf("scaled (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		resource, name string
		replicas       int64
		annotations    map[string]string
	}{
		{"deployments", "web", 3, map[string]string{"team": "a"}},
		{"statefulsets", "db", 1, nil},
		{"deployments", "old", 2, nil},
	} {
		obj := stored(t, client, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: tc.resource}, "shop", tc.name)
		replicas, _, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if replicas != tc.replicas {
			t.Errorf("%s %s: replicas %d, want %d", tc.resource, tc.name, replicas, tc.replicas)
		}
		if diff := cmp.Diff(tc.annotations, obj.GetAnnotations(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s %s: annotations (-want +got):\n%s", tc.resource, tc.name, diff)
		}
	}
	again, err := a.ScaleUp(context.Background(), refs)
	if err != nil || again != nil {
		t.Errorf("ScaleUp again = %v, %v; want nothing", again, err)
	}
}

func TestScaleUpFakeBadAnnotation(t *testing.T) {
	a, _ := fakeApplier(t, "",
		"{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, annotations: {snapflow.dev/replicas: lots}}}",
	)
	_, err := a.ScaleUp(context.Background(), []Ref{{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}})
	want := `scale up Deployment.apps shop/web: annotation snapflow.dev/replicas is "lots", not a number of replicas`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got: %v\nwant: %s", err, want)
	}
}
