package functions

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/resources"
)

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	servicesGVR    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	secretsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// restoreResourcesArgs are restoreResources' args for bundle, as the
// engine gives them (a CEL map), over the defaults.
func restoreResourcesArgs(t *testing.T, bundle ResourceBundle, extra map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	args := map[string]any{"bundle": m}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func restoreResources(t *testing.T, fc *fakeCluster, args map[string]any) (RestoreResourcesOutputs, error) {
	t.Helper()
	out, err := invoke(context.Background(), RestoreResources(), fc.rt, args)
	var got RestoreResourcesOutputs
	if err == nil {
		decodeOutputs(t, out, &got)
	}
	return got, err
}

func storedObject(t *testing.T, dyn *dynamicfake.FakeDynamicClient, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestRestoreResourcesFakeIntoAnotherNamespace restores what
// backupResources stored in its Secret into namespace restored: every
// object is created there, the Deployment back at its captured replicas.
// Run again, the skip policy leaves them all; the fail policy names the
// first that exists.
func TestRestoreResourcesFakeIntoAnotherNamespace(t *testing.T) {
	fc, dyn := newResourceCluster(t, webTarget, webSeed)
	backup := backUpWeb(t, fc)

	got, err := restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "restored"}))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]string{
		"Namespace":       {"restored"},
		"ServiceAccount":  {"restored/web-sa"},
		"ConfigMap":       {"restored/web-config"},
		"Secret":          {"restored/web-secret"},
		"Service":         {"restored/web"},
		"Deployment.apps": {"restored/web"},
	}
	want := RestoreResourcesOutputs{Created: all, Skipped: map[string][]string{}, Updated: map[string][]string{}, Scaled: []string{"Deployment.apps restored/web"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	dep := storedObject(t, dyn, deploymentsGVR, "restored", "web")
	if n, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); n != 3 {
		t.Errorf("restored deployment has %d replicas, want 3", n)
	}
	if _, held := dep.GetAnnotations()[resources.ReplicasAnnotation]; held {
		t.Errorf("restored deployment keeps %s", resources.ReplicasAnnotation)
	}
	if sa, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "serviceAccountName"); sa != "web-sa" {
		t.Errorf("restored deployment runs as %q", sa)
	}
	if _, found, _ := unstructured.NestedString(storedObject(t, dyn, servicesGVR, "restored", "web").Object, "spec", "clusterIP"); found {
		t.Error("restored service has the captured clusterIP")
	}
	if v, _, _ := unstructured.NestedString(storedObject(t, dyn, secretsGVR, "restored", "web-secret").Object, "data", "password"); v == "" {
		t.Error("restored secret has no value")
	}
	// The original is untouched.
	if n, _, _ := unstructured.NestedInt64(storedObject(t, dyn, deploymentsGVR, testNS, "web").Object, "spec", "replicas"); n != 3 {
		t.Errorf("original deployment has %d replicas, want 3", n)
	}
	for _, e := range fc.recorded() {
		if strings.Contains(e, secretValue) {
			t.Errorf("%q holds the Secret value", e)
		}
	}

	again, err := restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "restored", "policy": "skip"}))
	if err != nil {
		t.Fatal(err)
	}
	want = RestoreResourcesOutputs{Created: map[string][]string{}, Skipped: all, Updated: map[string][]string{}, Scaled: []string{}}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("second run's outputs (-want +got):\n%s", diff)
	}

	// fail passes over objects as captured, and fails on one a user changed.
	if _, err := restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "restored", "policy": "fail"})); err != nil {
		t.Fatalf("policy fail with every object as captured: %v", err)
	}
	changed := storedObject(t, dyn, secretsGVR, "restored", "web-secret")
	if err := unstructured.SetNestedField(changed.Object, "Y2hhbmdlZA==", "data", "password"); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(secretsGVR).Namespace("restored").Update(context.Background(), changed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "restored", "policy": "fail"}))
	if err == nil || !strings.Contains(err.Error(), "Secret restored/web-secret exists, differs from the captured one, and the policy is fail") ||
		!apierrors.IsAlreadyExists(err) || !function.IsPermanent(err) {
		t.Fatalf("policy fail: error %v, want a permanent one naming Secret restored/web-secret", err)
	}
}

// TestRestoreResourcesFakeHoldsWorkloads: with scaleUp false, or when the
// workload mounts a claim this call created (which has no data yet), the
// workload stays at 0 replicas with its captured replicas noted.
func TestRestoreResourcesFakeHoldsWorkloads(t *testing.T) {
	seed := webSeed + `
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: db, namespace: app}, spec: {replicas: 2, template: {spec: {volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]}}}}
---
{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: app}, spec: {accessModes: [ReadWriteOnce], volumeName: pv-1}, status: {phase: Bound}}`
	held := func(t *testing.T, dyn *dynamicfake.FakeDynamicClient, ns, name, replicas string) {
		t.Helper()
		dep := storedObject(t, dyn, deploymentsGVR, ns, name)
		n, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas")
		if n != 0 || dep.GetAnnotations()[resources.ReplicasAnnotation] != replicas {
			t.Errorf("%s/%s: %d replicas, annotations %v; want 0 and %s=%s", ns, name, n, dep.GetAnnotations(), resources.ReplicasAnnotation, replicas)
		}
	}

	t.Run("new claim", func(t *testing.T) {
		dbTarget := webTarget
		dbTarget.Name = "db"
		fc, dyn := newResourceCluster(t, dbTarget, seed)
		backup := backUpWeb(t, fc)
		got, err := restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "restored"}))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string][]string{"Namespace": {"restored"}, "PersistentVolumeClaim": {"restored/data"}, "Deployment.apps": {"restored/db"}}, got.Created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		if len(got.Scaled) != 0 {
			t.Errorf("scaled %v, want none", got.Scaled)
		}
		held(t, dyn, "restored", "db", "2")
	})
	t.Run("scaleUp false", func(t *testing.T) {
		fc, dyn := newResourceCluster(t, webTarget, seed)
		backup := backUpWeb(t, fc)
		got, err := restoreResources(t, fc, restoreResourcesArgs(t, backup.Bundle, map[string]any{"namespace": "cold", "scaleUp": false}))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Scaled) != 0 || len(got.Created["Deployment.apps"]) != 1 {
			t.Errorf("outputs %+v, want the deployment created and not scaled", got)
		}
		held(t, dyn, "cold", "web", "3")
	})
}

// TestRestoreResourcesFakeFailures: a bundle Secret that is gone, an
// unknown policy and a patch that matches nothing fail permanently,
// creating nothing.
func TestRestoreResourcesFakeFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bundle  func(ResourceBundle) ResourceBundle
		extra   map[string]any
		wantErr string
	}{
		{"secret gone", func(b ResourceBundle) ResourceBundle { b.Secret = "gone"; return b }, nil, "is gone"},
		{"no bundle", func(ResourceBundle) ResourceBundle { return ResourceBundle{Namespace: testNS} }, nil, "names neither a Secret nor a snapshot"},
		{"policy", func(b ResourceBundle) ResourceBundle { return b }, map[string]any{"policy": "merge"}, `unknown policy "merge"`},
		{"patch", func(b ResourceBundle) ResourceBundle { return b }, map[string]any{"patches": []any{map[string]any{
			"kind": "Deployment", "group": "apps", "name": "nope", "patch": []any{map[string]any{"op": "replace", "path": "/spec/replicas", "value": 1}},
		}}}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc, dyn := newResourceCluster(t, webTarget, webSeed)
			backup := backUpWeb(t, fc)
			extra := map[string]any{"namespace": "restored"}
			for k, v := range tc.extra {
				extra[k] = v
			}
			_, err := restoreResources(t, fc, restoreResourcesArgs(t, tc.bundle(backup.Bundle), extra))
			if !function.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want a permanent one saying %q", err, tc.wantErr)
			}
			for _, a := range dyn.Actions() {
				if a.GetVerb() == "create" {
					t.Errorf("created %s in %s", a.GetResource().Resource, a.GetNamespace())
				}
			}
		})
	}
}
