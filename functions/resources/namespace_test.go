package resources

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	discoveryfake "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"
)

// scopeKinds are the kinds the capture tests' cluster serves, with
// whether they are namespaced.
type preferredDiscovery struct {
	*discoveryfake.FakeDiscovery
	lists []*metav1.APIResourceList
	err   error
}

func (d preferredDiscovery) ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error) {
	return d.lists, d.err
}

var crud = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}

// namespacedLists are the namespaced resources a cluster with snapflow
// might serve.
var namespacedLists = []*metav1.APIResourceList{{
	GroupVersion: "v1",
	APIResources: []metav1.APIResource{
		{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: crud},
		{Name: "secrets", Namespaced: true, Kind: "Secret", Verbs: crud},
		{Name: "serviceaccounts", Namespaced: true, Kind: "ServiceAccount", Verbs: crud},
		{Name: "serviceaccounts/token", Namespaced: true, Kind: "TokenRequest", Verbs: metav1.Verbs{"create"}},
		{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: crud},
		{Name: "pods/log", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get"}},
		{Name: "services", Namespaced: true, Kind: "Service", Verbs: crud},
		{Name: "events", Namespaced: true, Kind: "Event", Verbs: crud},
		{Name: "endpoints", Namespaced: true, Kind: "Endpoints", Verbs: crud},
		{Name: "bindings", Namespaced: true, Kind: "Binding", Verbs: metav1.Verbs{"create"}},
	},
}, {
	GroupVersion: "apps/v1",
	APIResources: []metav1.APIResource{
		{Name: "deployments", Namespaced: true, Kind: "Deployment", Verbs: crud},
		{Name: "deployments/scale", Namespaced: true, Kind: "Scale", Verbs: metav1.Verbs{"get", "patch", "update"}},
		{Name: "replicasets", Namespaced: true, Kind: "ReplicaSet", Verbs: crud},
		{Name: "controllerrevisions", Namespaced: true, Kind: "ControllerRevision", Verbs: crud},
	},
}, {
	GroupVersion: "events.k8s.io/v1",
	APIResources: []metav1.APIResource{{Name: "events", Namespaced: true, Kind: "Event", Verbs: crud}},
}, {
	GroupVersion: "snapflow.dev/v1alpha1",
	APIResources: []metav1.APIResource{{Name: "actionsets", Namespaced: true, Kind: "ActionSet", Verbs: crud}},
}, {
	GroupVersion: "snapshot.storage.k8s.io/v1",
	APIResources: []metav1.APIResource{{Name: "volumesnapshots", Namespaced: true, Kind: "VolumeSnapshot", Verbs: crud}},
}, {
	GroupVersion: "metrics.k8s.io/v1beta1",
	APIResources: []metav1.APIResource{{Name: "pods", Namespaced: true, Kind: "PodMetrics", Verbs: metav1.Verbs{"get", "list"}}},
}, {
	// A kind the mapper has not learnt yet lists nothing.
	GroupVersion: "example.com/v1",
	APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Kind: "Widget", Verbs: crud}},
}}

const namespaceSeed = `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, uid: dep-uid}, spec: {replicas: 2}, status: {replicas: 2}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-abc
  namespace: shop
  uid: rs-uid
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: dep-uid, controller: true}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-abc-1
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: rs-uid, controller: true}]
---
{apiVersion: v1, kind: Pod, metadata: {name: bare, namespace: shop}, spec: {containers: [{name: c, image: x}]}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: dep-uid}]
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: kube-root-ca.crt, namespace: shop}}
---
{apiVersion: v1, kind: Secret, metadata: {name: app-secret, namespace: shop}, type: Opaque}
---
{apiVersion: v1, kind: Secret, metadata: {name: app-sa-token, namespace: shop}, type: kubernetes.io/service-account-token}
---
{apiVersion: v1, kind: Secret, metadata: {name: mover-creds, namespace: shop, labels: {snapflow.dev/function: export}}, type: Opaque}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: shop}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: app-sa, namespace: shop}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc, namespace: shop}, spec: {clusterIP: 10.0.0.9, selector: {app: web}}}
---
{apiVersion: v1, kind: Event, metadata: {name: web.1, namespace: shop}, reason: ScalingReplicaSet}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: other-ns, namespace: elsewhere}}
---
{apiVersion: snapflow.dev/v1alpha1, kind: ActionSet, metadata: {name: backup, namespace: shop}}`

// TestCaptureFakeNamespaceScope captures a whole namespace: what can be
// listed and created, less Events, snapflow's kinds, objects a controller
// owns, what the cluster makes, and what Skip drops. Kinds never captured
// are never listed.
func TestCaptureFakeNamespaceScope(t *testing.T) {
	c, client := fakeCapturer(t, namespaceSeed)
	c.Discovery = preferredDiscovery{FakeDiscovery: &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{}}, lists: namespacedLists}
	skip := func(o *unstructured.Unstructured) bool { _, ok := o.GetLabels()["snapflow.dev/function"]; return ok }
	b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Namespace/shop",
		"ConfigMap shop/app-config",
		"Deployment.apps shop/web",
		"Pod shop/bare",
		"Secret shop/app-secret",
		"Service shop/svc",
		"ServiceAccount shop/app-sa",
	}
	if diff := cmp.Diff(want, refStrings(b)); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}
	// The owner is captured: the reference stays, without its uid.
	cm := bundleObject(t, b, "ConfigMap shop/app-config")
	wantOwners := []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
	if diff := cmp.Diff(wantOwners, cm.Object["metadata"].(map[string]any)["ownerReferences"]); diff != "" {
		t.Errorf("owner references (-want +got):\n%s", diff)
	}
	if _, found, _ := unstructured.NestedString(bundleObject(t, b, "Service shop/svc").Object, "spec", "clusterIP"); found {
		t.Error("the Service keeps its clusterIP")
	}

	var listed []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "list" {
			listed = append(listed, a.GetResource().Resource)
		}
	}
	slices.Sort(listed)
	wantListed := []string{"configmaps", "deployments", "pods", "replicasets", "secrets", "serviceaccounts", "services"}
	if diff := cmp.Diff(wantListed, listed); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
}

// TestCaptureFakeNamespaceScopeKindsAndErrors: Include limits what is
// listed, not only what is kept; a group that failed discovery is passed
// over; discovery failing, or being absent, fails the capture.
func TestCaptureFakeNamespaceScopeKindsAndErrors(t *testing.T) {
	disc := func(err error) discovery.DiscoveryInterface {
		return preferredDiscovery{FakeDiscovery: &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{}}, lists: namespacedLists, err: err}
	}
	t.Run("include", func(t *testing.T) {
		c, client := fakeCapturer(t, namespaceSeed)
		c.Discovery = disc(nil)
		b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Include: []schema.GroupKind{{Kind: "ConfigMap"}}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Namespace/shop", "ConfigMap shop/app-config"}, refStrings(b)); diff != "" {
			t.Errorf("captured (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"list configmaps shop", "get namespaces /shop"}, verbs(client)); diff != "" {
			t.Errorf("calls (-want +got):\n%s", diff)
		}
	})
	t.Run("group discovery failed", func(t *testing.T) {
		c, _ := fakeCapturer(t, namespaceSeed)
		c.Discovery = disc(&discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
			{Group: "metrics.k8s.io", Version: "v1beta1"}: errors.New("service unavailable"),
		}})
		b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Include: []schema.GroupKind{{Kind: "Secret"}}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Namespace/shop", "Secret shop/app-secret", "Secret shop/mover-creds"}, refStrings(b)); diff != "" {
			t.Errorf("captured (-want +got):\n%s", diff)
		}
	})
	t.Run("discovery failed", func(t *testing.T) {
		c, _ := fakeCapturer(t, namespaceSeed)
		c.Discovery = disc(errors.New("connection refused"))
		if _, err := c.Capture(context.Background(), Scope{Namespace: "shop"}); err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %v, want discovery's", err)
		}
	})
	t.Run("no discovery", func(t *testing.T) {
		c, _ := fakeCapturer(t, namespaceSeed)
		if _, err := c.Capture(context.Background(), Scope{Namespace: "shop"}); err == nil {
			t.Error("captured a whole namespace without discovery")
		}
	})
	t.Run("list fails", func(t *testing.T) {
		c, client := fakeCapturer(t, namespaceSeed)
		c.Discovery = disc(nil)
		client.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("not yours"))
		})
		_, err := c.Capture(context.Background(), Scope{Namespace: "shop"})
		if !apierrors.IsForbidden(err) {
			t.Errorf("error %v, want the list's Forbidden", err)
		}
	})
}

func TestListableKinds(t *testing.T) {
	lists := append(slices.Clone(namespacedLists), &metav1.APIResourceList{
		GroupVersion: "autoscaling/v2",
		APIResources: []metav1.APIResource{{Name: "horizontalpodautoscalers", Namespaced: true, Kind: "HorizontalPodAutoscaler", Verbs: crud}},
	}, &metav1.APIResourceList{
		GroupVersion: "autoscaling/v1",
		APIResources: []metav1.APIResource{{Name: "horizontalpodautoscalers", Namespaced: true, Kind: "HorizontalPodAutoscaler", Verbs: crud}},
	}, &metav1.APIResourceList{
		GroupVersion: "groupsnapshot.storage.k8s.io/v1beta2",
		APIResources: []metav1.APIResource{{Name: "volumegroupsnapshots", Namespaced: true, Kind: "VolumeGroupSnapshot", Verbs: crud}},
	}, &metav1.APIResourceList{
		GroupVersion: "discovery.k8s.io/v1",
		APIResources: []metav1.APIResource{{Name: "endpointslices", Namespaced: true, Kind: "EndpointSlice", Verbs: crud}},
	}, &metav1.APIResourceList{
		GroupVersion: "a/b/c",
		APIResources: []metav1.APIResource{{Name: "bad", Namespaced: true, Kind: "Bad", Verbs: crud}},
	}, &metav1.APIResourceList{
		GroupVersion: "example.com/v1",
		APIResources: []metav1.APIResource{{Name: "readonly", Namespaced: true, Kind: "ReadOnly", Verbs: metav1.Verbs{"get", "list", "watch"}}},
	})
	want := []schema.GroupKind{
		{Kind: "ConfigMap"}, {Kind: "Secret"}, {Kind: "ServiceAccount"}, {Kind: "Pod"}, {Kind: "Service"},
		{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "ReplicaSet"},
		{Group: "example.com", Kind: "Widget"},
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"},
	}
	if diff := cmp.Diff(want, listableKinds(lists)); diff != "" {
		t.Errorf("listable kinds (-want +got):\n%s", diff)
	}
}
