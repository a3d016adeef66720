package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/snapflow/snapflow/engine/function"
)

var (
	configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// fakeWaitClients are a fake dynamic client and mapper that know
// ConfigMaps (namespaced) and Namespaces (cluster-scoped).
func fakeWaitClients(objs ...runtime.Object) (function.Clients, *dynamicfake.FakeDynamicClient) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{configMapsGVR: "ConfigMapList", namespacesGVR: "NamespaceList"}, objs...)
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}})
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	return function.Clients{Dynamic: dyn, Mapper: mapper}, dyn
}

func unstructuredConfigMap(name string, data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"namespace": "shop", "name": name},
		"data":     data,
	}}
}

func waitArgs(extra map[string]any) map[string]any {
	args := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "flags",
		"condition": `object.data.go == "yes"`, "timeout": "5m"}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

// afterFakeWatch runs change once the function watches, so the function
// has seen the object as it was before.
func afterFakeWatch(dyn *dynamicfake.FakeDynamicClient, change func(ctx context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			for _, a := range dyn.Actions() {
				if a.GetVerb() == "watch" {
					return true, nil
				}
			}
			return false, nil
		})
		if err == nil {
			err = change(ctx)
		}
		done <- err
	}()
	return done
}

func TestWaitFakeConditionBecomesTrue(t *testing.T) {
	cases := []struct {
		name   string
		before []runtime.Object // none: the object is created later
	}{
		{"updated", []runtime.Object{unstructuredConfigMap("flags", map[string]any{"go": "no"})}},
		{"created later", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, dyn := fakeWaitClients(tc.before...)
			rt, _ := clusterRuntime(c)
			cms := dyn.Resource(configMapsGVR).Namespace("shop")
			changed := afterFakeWatch(dyn, func(ctx context.Context) error {
				cm := unstructuredConfigMap("flags", map[string]any{"go": "yes"})
				cm.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
				if len(tc.before) == 0 {
					_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
					return err
				}
				_, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
				return err
			})
			out, err := Wait().Invoke(context.Background(), rt, waitArgs(nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := <-changed; err != nil {
				t.Fatal(err)
			}
			obj, _ := out["object"].(map[string]any)
			want := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"go": "yes"},
				"metadata": map[string]any{"namespace": "shop", "name": "flags"}} // without managedFields
			if d := cmp.Diff(obj, want); d != "" {
				t.Errorf("object (-got +want):\n%s", d)
			}
			if _, err := time.ParseDuration(out["waited"].(string)); err != nil {
				t.Errorf("waited = %v: %v", out["waited"], err)
			}
		})
	}
}

func TestWaitFakeClusterScopedAlreadyTrue(t *testing.T) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": "shop"}, "status": map[string]any{"phase": "Active"}}}
	c, _ := fakeWaitClients(ns)
	rt, rec := clusterRuntime(c)
	_, err := Wait().Invoke(context.Background(), rt, waitArgs(map[string]any{"kind": "Namespace", "namespace": "", "name": "shop",
		"condition": `object.status.phase in ["Active"] && object.metadata.name.startsWith("sh")`}))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.messages[0]; !strings.HasPrefix(got, `waiting for Namespace shop: object.status.phase`) {
		t.Errorf("message = %q", got)
	}
}

func TestWaitFakeTimeoutSaysWhatItSaw(t *testing.T) {
	withStatus := unstructuredConfigMap("flags", nil)
	withStatus.Object["status"] = map[string]any{"ready": false}
	cases := []struct {
		name      string
		objs      []runtime.Object
		condition string
		want      string
	}{
		{"never existed", nil, `object.data.go == "yes"`, "it never existed"},
		{"last value", []runtime.Object{unstructuredConfigMap("flags", map[string]any{"go": "no"})}, `object.data.go == "yes"`,
			`last seen {"apiVersion":"v1","data":{"go":"no"},"kind":"ConfigMap"}`},
		{"status and evaluation error", []runtime.Object{withStatus}, `object.status.phase == "Ready"`,
			`status {"ready":false}; condition: no such key: phase`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeWaitClients(tc.objs...)
			rt, _ := clusterRuntime(c)
			_, err := Wait().Invoke(context.Background(), rt, waitArgs(map[string]any{"timeout": "200ms", "condition": tc.condition}))
			want := "ConfigMap shop/flags did not satisfy " + tc.condition + " within 200ms: " + tc.want
			if err == nil || err.Error() != want || function.IsPermanent(err) {
				t.Fatalf("err = %v\nwant retryable %s", err, want)
			}
		})
	}
}

func TestWaitFakeBadArgs(t *testing.T) {
	cases := map[string]struct {
		args map[string]any
		want string
	}{
		"syntax": {map[string]any{"condition": "object.data.go =="},
			"condition object.data.go ==: 1:18: Syntax error: mismatched input '<EOF>'"},
		"static type": {map[string]any{"condition": "1 + 2"}, "condition 1 + 2 must evaluate to bool but got int"},
		"dynamic type": {map[string]any{"condition": "object.data.go"},
			"wait for ConfigMap shop/flags: condition object.data.go evaluated to string, not a bool"},
		"other variable": {map[string]any{"condition": "object.data.go == workload.name"},
			"condition object.data.go == workload.name: only the variable object is set here, not workload"},
		"unknown kind":                 {map[string]any{"kind": "Secret"}, "the cluster has no kind Secret in v1"},
		"namespaced without namespace": {map[string]any{"namespace": ""}, "ConfigMap is namespaced: namespace must not be empty"},
		"cluster-scoped with namespace": {map[string]any{"kind": "Namespace"},
			`Namespace is cluster-scoped: namespace must be empty, got "shop"`},
		"bad apiVersion": {map[string]any{"apiVersion": "a/b/c"}, `apiVersion "a/b/c": unexpected GroupVersion string: a/b/c`},
		"no timeout":     {map[string]any{"timeout": "0s"}, "timeout must be positive, got 0s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, _ := fakeWaitClients(unstructuredConfigMap("flags", map[string]any{"go": "no"}))
			rt, _ := clusterRuntime(c)
			_, err := Wait().Invoke(context.Background(), rt, waitArgs(tc.args))
			if !function.IsPermanent(err) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant permanent %s", err, tc.want)
			}
		})
	}
}

// TestWaitConditionShadowing: a comprehension variable may take the name
// of a blueprint variable.
func TestWaitConditionShadowing(t *testing.T) {
	if _, err := compileCondition(`object.items.exists(workload, workload == "x")`); err != nil {
		t.Fatal(err)
	}
}

func TestWaitFakeMissingClients(t *testing.T) {
	c, _ := fakeWaitClients()
	c.Mapper = nil
	rt, _ := clusterRuntime(c)
	_, err := Wait().Invoke(context.Background(), rt, waitArgs(nil))
	if !function.IsPermanent(err) || !strings.Contains(err.Error(), "no cluster clients") {
		t.Fatalf("err = %v", err)
	}
}
