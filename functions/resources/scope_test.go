package resources

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

// scopeKinds are the kinds the capture tests' cluster serves, with
// whether they are namespaced.
var scopeKinds = []struct {
	gvk        schema.GroupVersionKind
	namespaced bool
}{
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, false},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, true},
	{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, true},
	{schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}, true},
	{schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, true},
	{schema.GroupVersionKind{Group: "snapflow.dev", Version: "v1alpha1", Kind: "ActionSet"}, true},
}

// scopeMapper maps the scopeKinds, as discovery would.
func scopeMapper() meta.RESTMapper {
	var gvs []schema.GroupVersion
	for _, k := range scopeKinds {
		if !slices.Contains(gvs, k.gvk.GroupVersion()) {
			gvs = append(gvs, k.gvk.GroupVersion())
		}
	}
	m := meta.NewDefaultRESTMapper(gvs)
	for _, k := range scopeKinds {
		scope := meta.RESTScopeRoot
		if k.namespaced {
			scope = meta.RESTScopeNamespace
		}
		m.Add(k.gvk, scope)
	}
	return m
}

// fakeCapturer is a Capturer on a fake cluster holding seed (YAML
// objects separated by "---"), each with a uid as the API server gives.
func fakeCapturer(t *testing.T, seed string) (Capturer, *fake.FakeDynamicClient) {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{}
	for _, k := range scopeKinds {
		gvr, _ := meta.UnsafeGuessKindToResource(k.gvk)
		listKinds[gvr] = k.gvk.Kind + "List"
	}
	var objs []runtime.Object
	for _, obj := range parseObjects(t, seed) {
		if obj.GetUID() == "" {
			obj.SetUID(types.UID("uid-" + obj.GetKind() + "-" + obj.GetName()))
		}
		objs = append(objs, obj)
	}
	client := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	return Capturer{Dynamic: client, Mapper: scopeMapper()}, client
}

// refStrings are the bundle's objects as Ref strings, in order.
func refStrings(b Bundle) []string {
	var out []string
	for _, r := range b.Refs() {
		out = append(out, r.String())
	}
	return out
}

func bundleObject(t *testing.T, b Bundle, ref string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range b.Objects {
		if RefOf(o).String() == ref {
			return o
		}
	}
	t.Fatalf("%s not captured; captured %v", ref, refStrings(b))
	return nil
}

var webWorkload = &Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}

// workloadSeed is a namespace holding Deployment web and what it uses or
// what selects it, beside objects that look alike but do not.
const workloadSeed = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}, resourceVersion: "5"}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  resourceVersion: "77"
  generation: 4
  annotations: {deployment.kubernetes.io/revision: "3", team: a}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      serviceAccountName: web-sa
      imagePullSecrets: [{name: regcred}]
      initContainers:
      - name: init
        image: busybox
        env:
        - {name: MODE, valueFrom: {configMapKeyRef: {name: cm-init, key: mode}}}
      containers:
      - name: web
        image: shop:1
        env:
        - {name: PLAIN, value: x}
        - {name: LEVEL, valueFrom: {configMapKeyRef: {name: cm-env, key: level}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: sec-env, key: token}}}
        - {name: AGAIN, valueFrom: {configMapKeyRef: {name: cm-vol, key: k}}}
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        envFrom:
        - configMapRef: {name: cm-envfrom}
        - secretRef: {name: sec-envfrom}
      volumes:
      - {name: config, configMap: {name: cm-vol}}
      - {name: creds, secret: {secretName: sec-vol}}
      - {name: data, persistentVolumeClaim: {claimName: data}}
      - name: bundle
        projected:
          sources:
          - configMap: {name: cm-proj}
          - secret: {name: sec-proj}
      - name: kube-api-access
        projected:
          sources:
          - serviceAccountToken: {path: token}
          - configMap: {name: kube-root-ca.crt}
          - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
      - {name: legacy-token, secret: {secretName: web-sa-token}}
      - {name: scratch, emptyDir: {}}
status: {replicas: 2, readyReplicas: 2}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: other, namespace: shop}, spec: {template: {metadata: {labels: {app: other}}, spec: {containers: [{name: c, image: x}]}}}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-init, namespace: shop}, data: {mode: fast}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-env, namespace: shop}, data: {level: debug}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-vol, namespace: shop, labels: {tier: front}}, data: {k: v}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-envfrom, namespace: shop}, data: {a: b}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-proj, namespace: shop}, data: {p: q}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: kube-root-ca.crt, namespace: shop}, data: {ca.crt: pem}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: unrelated, namespace: shop}, data: {u: v}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-vol, namespace: elsewhere}, data: {k: other}}
---
{apiVersion: v1, kind: Secret, metadata: {name: regcred, namespace: shop}, type: kubernetes.io/dockerconfigjson, data: {.dockerconfigjson: e30=}}
---
{apiVersion: v1, kind: Secret, metadata: {name: sec-env, namespace: shop}, type: Opaque, data: {token: aHVudGVyMg==}}
---
{apiVersion: v1, kind: Secret, metadata: {name: sec-envfrom, namespace: shop}, type: Opaque}
---
{apiVersion: v1, kind: Secret, metadata: {name: sec-vol, namespace: shop}, type: Opaque}
---
{apiVersion: v1, kind: Secret, metadata: {name: sec-proj, namespace: shop}, type: Opaque}
---
{apiVersion: v1, kind: Secret, metadata: {name: web-sa-token, namespace: shop, annotations: {kubernetes.io/service-account.name: web-sa}}, type: kubernetes.io/service-account-token}
---
{apiVersion: v1, kind: Secret, metadata: {name: unrelated, namespace: shop}, type: Opaque}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
  annotations: {pv.kubernetes.io/bind-completed: "yes", pv.kubernetes.io/bound-by-controller: "yes"}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeName: pv-data}
status: {phase: Bound}
---
{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: scratch, namespace: shop}, spec: {}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: web-sa, namespace: shop}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: shop}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: other-sa, namespace: shop}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-rb, namespace: shop}
subjects: [{kind: ServiceAccount, name: web-sa}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web-role}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-crb, namespace: shop}
subjects: [{kind: User, name: alice}, {kind: ServiceAccount, name: web-sa, namespace: shop}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: other-rb, namespace: shop}
subjects: [{kind: ServiceAccount, name: other-sa}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: other-role}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: elsewhere-rb, namespace: shop}
subjects: [{kind: ServiceAccount, name: web-sa, namespace: elsewhere}, {kind: User, name: web-sa}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: elsewhere-role}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: web-role, namespace: shop}, rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: other-role, namespace: shop}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: elsewhere-role, namespace: shop}}
---
apiVersion: v1
kind: Service
metadata: {name: svc-web, namespace: shop, labels: {tier: front}}
spec: {clusterIP: 10.0.0.7, clusterIPs: [10.0.0.7], ports: [{port: 80}], selector: {app: web}}
status: {loadBalancer: {}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc-tier, namespace: shop}, spec: {selector: {tier: front}}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc-other, namespace: shop}, spec: {selector: {app: other}}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc-both, namespace: shop}, spec: {selector: {app: web, tier: back}}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc-none, namespace: shop}, spec: {type: ExternalName, externalName: db.example.com}}
---
{apiVersion: v1, kind: Service, metadata: {name: svc-web, namespace: elsewhere}, spec: {selector: {app: web}}}
---
{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np-web, namespace: shop}, spec: {podSelector: {matchLabels: {app: web}}}}
---
{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np-expr, namespace: shop}, spec: {podSelector: {matchExpressions: [{key: tier, operator: In, values: [front, back]}]}}}
---
{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np-all, namespace: shop}, spec: {podSelector: {}}}
---
{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: np-other, namespace: shop}, spec: {podSelector: {matchLabels: {app: other}}}}
---
{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb-web, namespace: shop}, spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}, status: {currentHealthy: 2}}
---
{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb-other, namespace: shop}, spec: {minAvailable: 1, selector: {matchLabels: {app: other}}}}
---
{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: hpa-web, namespace: shop}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 5}}
---
{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: hpa-sts, namespace: shop}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}, maxReplicas: 5}}
---
{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: hpa-other, namespace: shop}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: other}, maxReplicas: 5}}`

// TestCaptureFakeWorkloadScope captures Deployment web: its namespace
// first, then the workload, then (by kind and name) what its pod template
// references, its account's RBAC and what selects or scales its pods; not
// look-alikes, nor what every namespace has. Everything comes cleaned.
func TestCaptureFakeWorkloadScope(t *testing.T) {
	c, _ := fakeCapturer(t, workloadSeed)
	b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload})
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != BundleVersion {
		t.Errorf("version %d, want %d", b.Version, BundleVersion)
	}
	want := []string{
		"Namespace/shop",
		"Deployment.apps shop/web",
		"ConfigMap shop/cm-env",
		"ConfigMap shop/cm-envfrom",
		"ConfigMap shop/cm-init",
		"ConfigMap shop/cm-proj",
		"ConfigMap shop/cm-vol",
		"HorizontalPodAutoscaler.autoscaling shop/hpa-web",
		"NetworkPolicy.networking.k8s.io shop/np-all",
		"NetworkPolicy.networking.k8s.io shop/np-expr",
		"NetworkPolicy.networking.k8s.io shop/np-web",
		"PersistentVolumeClaim shop/data",
		"PodDisruptionBudget.policy shop/pdb-web",
		"Role.rbac.authorization.k8s.io shop/web-role",
		"RoleBinding.rbac.authorization.k8s.io shop/web-crb",
		"RoleBinding.rbac.authorization.k8s.io shop/web-rb",
		"Secret shop/regcred",
		"Secret shop/sec-env",
		"Secret shop/sec-envfrom",
		"Secret shop/sec-proj",
		"Secret shop/sec-vol",
		"Service shop/svc-tier",
		"Service shop/svc-web",
		"ServiceAccount shop/web-sa",
	}
	if diff := cmp.Diff(want, refStrings(b)); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}

	for _, o := range b.Objects {
		ref := RefOf(o).String()
		if _, found := o.Object["status"]; found {
			t.Errorf("%s keeps its status", ref)
		}
		for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"} {
			if _, found := o.Object["metadata"].(map[string]any)[f]; found {
				t.Errorf("%s keeps metadata.%s", ref, f)
			}
		}
	}
	svc := bundleObject(t, b, "Service shop/svc-web")
	if diff := cmp.Diff(parseObjects(t, "{ports: [{port: 80}], selector: {app: web}}")[0].Object, svc.Object["spec"]); diff != "" {
		t.Errorf("service spec (-want +got):\n%s", diff)
	}
	claim := bundleObject(t, b, "PersistentVolumeClaim shop/data")
	if _, found, _ := unstructured.NestedString(claim.Object, "spec", "volumeName"); found || claim.GetAnnotations() != nil {
		t.Errorf("claim keeps its binding: %v", claim.Object)
	}
	ns := bundleObject(t, b, "Namespace/shop")
	if diff := cmp.Diff(object(t, "{apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {team: a}}, spec: {}}").Object, ns.Object); diff != "" {
		t.Errorf("namespace (-want +got):\n%s", diff)
	}
	dep := bundleObject(t, b, "Deployment.apps shop/web")
	if diff := cmp.Diff(map[string]string{"team": "a"}, dep.GetAnnotations()); diff != "" {
		t.Errorf("deployment annotations (-want +got):\n%s", diff)
	}
	if n, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); n != 2 {
		t.Errorf("deployment replicas %d, want 2", n)
	}
	sec := bundleObject(t, b, "Secret shop/sec-env")
	if got, _, _ := unstructured.NestedString(sec.Object, "data", "token"); got != "aHVudGVyMg==" {
		t.Errorf("secret data %q, want it kept", got)
	}
}

// TestCaptureFakeDropsClusterMade: the default account, kube-root-ca.crt
// and service-account tokens are the cluster's, even when referenced;
// RoleBindings naming the default account still are the app's.
func TestCaptureFakeDropsClusterMade(t *testing.T) {
	c, _ := fakeCapturer(t, `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: default
      containers: [{name: c, image: x, envFrom: [{configMapRef: {name: kube-root-ca.crt}}]}]
      volumes:
      - {name: t, secret: {secretName: default-token}}
      - {name: k, projected: {sources: [{configMap: {name: kube-root-ca.crt}}]}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: shop}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: kube-root-ca.crt, namespace: shop}}
---
{apiVersion: v1, kind: Secret, metadata: {name: default-token, namespace: shop}, type: kubernetes.io/service-account-token}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-rb, namespace: shop}
subjects: [{kind: ServiceAccount, name: default}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}`)
	b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload})
	if err != nil {
		t.Fatal(err)
	}
	// The bound Role is missing: the binding is kept, the Role skipped.
	want := []string{"Namespace/shop", "Deployment.apps shop/web", "RoleBinding.rbac.authorization.k8s.io shop/default-rb"}
	if diff := cmp.Diff(want, refStrings(b)); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}
}

// TestCaptureFakeWorkloadFilters: Include, Exclude and Selector narrow
// what the workload brings, never the workload itself; Skip drops what
// the caller says.
func TestCaptureFakeWorkloadFilters(t *testing.T) {
	head := []string{"Namespace/shop", "Deployment.apps shop/web"}
	cms := []string{"ConfigMap shop/cm-env", "ConfigMap shop/cm-envfrom", "ConfigMap shop/cm-init", "ConfigMap shop/cm-proj", "ConfigMap shop/cm-vol"}
	rbac := []string{"RoleBinding.rbac.authorization.k8s.io shop/web-crb", "RoleBinding.rbac.authorization.k8s.io shop/web-rb"}
	for _, tc := range []struct {
		name  string
		scope Scope
		want  []string
	}{{
		name:  "include",
		scope: Scope{Include: []schema.GroupKind{{Kind: "ConfigMap"}, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}}},
		want:  slices.Concat(head, cms, rbac),
	}, {
		name: "exclude",
		scope: Scope{Exclude: []schema.GroupKind{
			{Kind: "Secret"}, {Kind: "Service"}, {Kind: "ConfigMap"}, {Kind: "ServiceAccount"}, {Kind: "PersistentVolumeClaim"},
			{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, {Group: "rbac.authorization.k8s.io", Kind: "Role"},
		}},
		want: slices.Concat(head, []string{
			"HorizontalPodAutoscaler.autoscaling shop/hpa-web",
			"PodDisruptionBudget.policy shop/pdb-web",
		}, rbac),
	}, {
		name:  "selector",
		scope: Scope{Selector: labels.SelectorFromSet(labels.Set{"tier": "front"})},
		want:  slices.Concat(head, []string{"ConfigMap shop/cm-vol", "Service shop/svc-web"}),
	}, {
		name:  "include and selector",
		scope: Scope{Include: []schema.GroupKind{{Kind: "ConfigMap"}}, Selector: labels.SelectorFromSet(labels.Set{"tier": "front"})},
		want:  slices.Concat(head, []string{"ConfigMap shop/cm-vol"}),
	}, {
		name:  "workload kept whatever the filters",
		scope: Scope{Include: []schema.GroupKind{{Kind: "Secret"}}, Exclude: []schema.GroupKind{{Group: "apps", Kind: "Deployment"}, {Kind: "Secret"}}, Selector: labels.SelectorFromSet(labels.Set{"no": "match"})},
		want:  head,
	}, {
		name: "skip",
		scope: Scope{Include: []schema.GroupKind{{Kind: "ConfigMap"}}, Skip: func(o *unstructured.Unstructured) bool {
			return strings.HasPrefix(o.GetName(), "cm-e") || o.GetKind() == "Deployment"
		}},
		want: slices.Concat(head, []string{"ConfigMap shop/cm-init", "ConfigMap shop/cm-proj", "ConfigMap shop/cm-vol"}),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeCapturer(t, workloadSeed)
			tc.scope.Namespace, tc.scope.Workload = "shop", webWorkload
			b, err := c.Capture(context.Background(), tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, refStrings(b)); diff != "" {
				t.Errorf("captured (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCaptureFakeMissingReferences: a reference to an object that does
// not exist (an optional one) is skipped; a missing workload, or an error
// other than not found, fails the capture.
func TestCaptureFakeMissingReferences(t *testing.T) {
	seed := `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: gone-sa
      containers: [{name: c, image: x, envFrom: [{configMapRef: {name: gone-env, optional: true}}]}]
      volumes:
      - {name: a, configMap: {name: gone, optional: true}}
      - {name: b, configMap: {name: here}}
      - {name: c, secret: {secretName: gone-secret, optional: true}}
      - {name: d, persistentVolumeClaim: {claimName: gone-claim}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: here, namespace: shop}}`
	t.Run("optional", func(t *testing.T) {
		c, _ := fakeCapturer(t, seed)
		b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"Namespace/shop", "Deployment.apps shop/web", "ConfigMap shop/here"}
		if diff := cmp.Diff(want, refStrings(b)); diff != "" {
			t.Errorf("captured (-want +got):\n%s", diff)
		}
	})
	t.Run("workload", func(t *testing.T) {
		c, _ := fakeCapturer(t, seed)
		gone := &Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "gone"}
		_, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: gone})
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "Deployment.apps shop/gone") {
			t.Errorf("error %v, want a not found naming the workload", err)
		}
	})
	t.Run("other error", func(t *testing.T) {
		c, client := fakeCapturer(t, seed)
		client.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
		})
		_, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload})
		if err == nil || !strings.Contains(err.Error(), "etcd down") {
			t.Errorf("error %v, want the read's", err)
		}
	})
}

// TestCaptureFakeNamespaceUnreadable: a runner that may not read its
// Namespace captures the rest; another error reading it fails.
func TestCaptureFakeNamespaceUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("not yours")), false},
		{"not found", apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "shop"), false},
		{"internal", apierrors.NewInternalError(errors.New("etcd down")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, client := fakeCapturer(t, workloadSeed)
			client.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload, Include: []schema.GroupKind{{Kind: "ServiceAccount"}}})
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "etcd down") {
					t.Errorf("error %v, want the namespace read's", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"Deployment.apps shop/web", "ServiceAccount shop/web-sa"}
			if diff := cmp.Diff(want, refStrings(b)); diff != "" {
				t.Errorf("captured (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCaptureFakeStatefulSetClaims: a StatefulSet brings the claims made
// from its templates, <template>-<statefulset>-<ordinal>, and those its
// pod template names; not claims that only look alike. Mounts agrees.
