package resources

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func testMapper() meta.RESTMapper {
	// Versions to prefer when a lookup has none, as discovery gives.
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}})
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Secret"},
		{Version: "v1", Kind: "PersistentVolumeClaim"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "example.com", Version: "v1", Kind: "Gadget"},
	} {
		m.Add(gvk, meta.RESTScopeNamespace)
	}
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	return m
}

// fakeApplier is an Applier on a fake cluster holding seed, whose creates
// get a uid as the API server gives.
func fakeApplier(t *testing.T, policy Policy, seed ...string) (Applier, *fake.FakeDynamicClient) {
	t.Helper()
	var objs []runtime.Object
	if len(seed) > 0 {
		for _, obj := range parseObjects(t, strings.Join(seed, "\n---\n")) {
			objs = append(objs, obj)
		}
	}
	client := fake.NewSimpleDynamicClient(runtime.NewScheme(), objs...)
	client.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		create := action.(k8stesting.CreateAction)
		obj := create.GetObject().(*unstructured.Unstructured)
		obj.SetUID(types.UID("uid-" + obj.GetKind() + "-" + obj.GetName()))
		return true, obj, client.Tracker().Create(create.GetResource(), obj, create.GetNamespace())
	})
	return Applier{Dynamic: client, Mapper: testMapper(), Policy: policy}, client
}

func stored(t *testing.T, client *fake.FakeDynamicClient, gvr schema.GroupVersionResource, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := client.Tracker().Get(gvr, namespace, name)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*unstructured.Unstructured)
}

// verbs lists the client's calls as "verb resource namespace/name".
func verbs(client *fake.FakeDynamicClient) []string {
	var out []string
	for _, a := range client.Actions() {
		s := a.GetVerb() + " " + a.GetResource().Resource + " " + a.GetNamespace()
		switch a := a.(type) {
		case k8stesting.GetAction:
			s += "/" + a.GetName()
		case k8stesting.CreateAction:
			s += "/" + a.GetObject().(*unstructured.Unstructured).GetName()
		case k8stesting.PatchAction:
			s += "/" + a.GetName()
		}
		out = append(out, s)
	}
	return out
}

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func TestApplyFakeCreatesNamespacesAndHoldsReplicas(t *testing.T) {
	a, client := fakeApplier(t, "")
	objs := parseObjects(t, `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader, namespace: ignored}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, annotations: {team: a}}
spec: {replicas: 3}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: other}
spec: {}`)
	before := contents(mustCopy(t, objs))
	got, err := a.Apply(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	want := Applied{Created: []Ref{
		{Kind: "Namespace", Name: "shop"},
		{Kind: "ConfigMap", Namespace: "shop", Name: "a"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reader"},
		{Kind: "Namespace", Name: "other"},
		{Kind: "Secret", Namespace: "other", Name: "s"},
		{Kind: "ConfigMap", Namespace: "other", Name: "b"},
		{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
		{Group: "apps", Kind: "StatefulSet", Namespace: "other", Name: "db"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	wantVerbs := []string{
		"create namespaces /shop",
		"create configmaps shop/a",
		"create clusterroles /reader",
		"get namespaces /other",
		"create namespaces /other",
		"create secrets other/s",
		"create configmaps other/b",
		"create deployments shop/web",
		"create statefulsets other/db",
	}
	if diff := cmp.Diff(wantVerbs, verbs(client)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		resource, namespace, name string
		replicas                  int64
		annotations               map[string]string
	}{
		{"deployments", "shop", "web", 0, map[string]string{"team": "a", ReplicasAnnotation: "3"}},
		{"statefulsets", "other", "db", 0, map[string]string{ReplicasAnnotation: "1"}},
	} {
		obj := stored(t, client, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: tc.resource}, tc.namespace, tc.name)
		replicas, _, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if replicas != tc.replicas {
			t.Errorf("%s %s: replicas %d, want %d", tc.resource, tc.name, replicas, tc.replicas)
		}
		if diff := cmp.Diff(tc.annotations, obj.GetAnnotations()); diff != "" {
			t.Errorf("%s %s: annotations (-want +got):\n%s", tc.resource, tc.name, diff)
		}
	}
	if diff := cmp.Diff(before, contents(objs)); diff != "" {
		t.Errorf("Apply changed its input (-before +after):\n%s", diff)
	}
}

func mustCopy(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	out := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		c, err := copyObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func TestApplyFakeExisting(t *testing.T) {
	shop := "{apiVersion: v1, kind: Namespace, metadata: {name: shop}}"
	old := "{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: shop}, data: {k: old, gone: x}}"
	a := Ref{Kind: "ConfigMap", Namespace: "shop", Name: "a"}
	b := Ref{Kind: "ConfigMap", Namespace: "shop", Name: "b"}
	for _, tc := range []struct {
		policy  Policy
		want    Applied
		wantErr string
		data    map[string]string
	}{{
		policy: PolicySkip,
		want:   Applied{Created: []Ref{b}, Skipped: []Ref{a}},
		data:   map[string]string{"k": "old", "gone": "x"},
	}, {
		policy: PolicyUpdate,
		want:   Applied{Created: []Ref{b}, Updated: []Ref{a}},
		data:   map[string]string{"k": "new"}, // fakeApply replaces
	}, {
		policy:  PolicyFail,
		want:    Applied{Created: []Ref{b}},
		wantErr: `ConfigMap shop/a exists, differs from the captured one, and the policy is fail: configmaps "a" already exists, after creating 1 object: ConfigMap shop/b`,
		data:    map[string]string{"k": "old", "gone": "x"},
	}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			app, client := fakeApplier(t, tc.policy, shop, old)
			client.PrependReactor("patch", "configmaps", fakeApply(client))
			objs := parseObjects(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
data: {k: new}`)
			got, err := app.Apply(context.Background(), objs)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error\n got: %v\nwant: %s", err, tc.wantErr)
				}
				if !apierrors.IsAlreadyExists(err) {
					t.Errorf("error %v does not wrap AlreadyExists", err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
			data, _, _ := unstructured.NestedStringMap(stored(t, client, configMaps, "shop", "a").Object, "data")
			if diff := cmp.Diff(tc.data, data); diff != "" {
				t.Errorf("data of a (-want +got):\n%s", diff)
			}
			if tc.policy != PolicyUpdate {
				return
			}
			patch := client.Actions()[len(client.Actions())-1].(k8stesting.PatchAction)
			opts := patch.(k8stesting.PatchActionImpl).PatchOptions
			if patch.GetPatchType() != types.ApplyPatchType || opts.FieldManager != FieldManager || opts.Force == nil || !*opts.Force {
				t.Errorf("update is a %s patch with %+v, want a forced server-side apply by %s", patch.GetPatchType(), opts, FieldManager)
			}
		})
	}
}

// fakeApply handles a server-side apply as a replace: the fake's own
// apply cannot merge into an Unstructured.
func fakeApply(client *fake.FakeDynamicClient) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		patch := action.(k8stesting.PatchAction)
		if patch.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		obj, err := decodeObject(patch.GetPatch())
		if err != nil {
			return true, nil, err
		}
		return true, obj, client.Tracker().Update(patch.GetResource(), obj, patch.GetNamespace())
	}
}

func TestApplyFakeNamespaceForbidden(t *testing.T) {
	cm := "{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: shop}}"
	forbid := func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("not yours"))
	}
	t.Run("create", func(t *testing.T) {
		a, client := fakeApplier(t, "")
		client.PrependReactor("create", "namespaces", forbid)
		got, err := a.Apply(context.Background(), parseObjects(t, cm))
		want := `create namespace shop for ConfigMap shop/a: namespaces "shop" is forbidden: not yours`
		if err == nil || err.Error() != want || !apierrors.IsForbidden(err) {
			t.Fatalf("error\n got: %v\nwant: %s", err, want)
		}
		if diff := cmp.Diff(Applied{}, got); diff != "" {
			t.Errorf("applied (-want +got):\n%s", diff)
		}
	})
	t.Run("get", func(t *testing.T) {
		// A client that may not read namespaces creates in them all the same.
		a, client := fakeApplier(t, "")
		client.PrependReactor("get", "namespaces", forbid)
		got, err := a.Apply(context.Background(), parseObjects(t, cm))
		if err != nil {
			t.Fatal(err)
		}
		want := Applied{Created: []Ref{{Kind: "ConfigMap", Namespace: "shop", Name: "a"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("applied (-want +got):\n%s", diff)
		}
	})
}

func TestApplyFakeErrorListsWhatItDid(t *testing.T) {
	a, client := fakeApplier(t, PolicyUpdate, "{apiVersion: v1, kind: ConfigMap, metadata: {name: u, namespace: a}}")
	client.PrependReactor("patch", "configmaps", fakeApply(client))
	boom := errors.New("boom")
	client.PrependReactor("create", "configmaps", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).GetName() == "c" {
			return true, nil, boom
		}
		return false, nil, nil
	})
	objs := parseObjects(t, `
{apiVersion: v1, kind: ConfigMap, metadata: {name: c1, namespace: a}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: u, namespace: a}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: c2, namespace: a}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: a}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: c3, namespace: a}}`)
	got, err := a.Apply(context.Background(), objs)
	want := "create ConfigMap a/c: boom, after creating 3 objects: Namespace/a, ConfigMap a/c1, ConfigMap a/c2; updating 1 object: ConfigMap a/u"
	if err == nil || err.Error() != want || !errors.Is(err, boom) {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
	wantApplied := Applied{
		Created: []Ref{{Kind: "Namespace", Name: "a"}, {Kind: "ConfigMap", Namespace: "a", Name: "c1"}, {Kind: "ConfigMap", Namespace: "a", Name: "c2"}},
		Updated: []Ref{{Kind: "ConfigMap", Namespace: "a", Name: "u"}},
	}
	if diff := cmp.Diff(wantApplied, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}
