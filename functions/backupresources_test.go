package functions

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/functions/resources"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// actionNS is where the test ActionSet, and so the bundle Secret, lives.
const actionNS = "snapflow"

// resourceKinds are the kinds the resource functions' fake cluster serves.
var resourceKinds = []struct {
	gvk        schema.GroupVersionKind
	namespaced bool
}{
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, false},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, true},
	{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, true},
	{schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}, true},
	{schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, true},
}

// resourceObjects parses YAML objects separated by "---", integers as
// int64 as the API machinery decodes them.
func resourceObjects(t *testing.T, src string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(src, "\n---\n") {
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}

// newResourceCluster is a fake cluster for backupResources and
// restoreResources: fc's Runtime gets a fake dynamic client holding seed
// and a mapper of resourceKinds, an ActionSet in actionNS, and target.
func newResourceCluster(t *testing.T, target v1alpha1.ObjectReference, seed string, kubeObjs ...runtime.Object) (*fakeCluster, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	fc := newFakeCluster(t, kubeObjs...)
	listKinds := map[schema.GroupVersionResource]string{}
	var gvs []schema.GroupVersion
	for _, k := range resourceKinds {
		gvr, _ := meta.UnsafeGuessKindToResource(k.gvk)
		listKinds[gvr] = k.gvk.Kind + "List"
		if !slices.Contains(gvs, k.gvk.GroupVersion()) {
			gvs = append(gvs, k.gvk.GroupVersion())
		}
	}
	mapper := meta.NewDefaultRESTMapper(gvs)
	for _, k := range resourceKinds {
		scope := meta.RESTScopeRoot
		if k.namespaced {
			scope = meta.RESTScopeNamespace
		}
		mapper.Add(k.gvk, scope)
	}
	var objs []runtime.Object
	if seed != "" {
		for _, o := range resourceObjects(t, seed) {
			objs = append(objs, o)
		}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	fc.rt.Clients.Dynamic, fc.rt.Clients.Mapper = dyn, mapper
	fc.rt.Action = celenv.Action{Name: "backup", Blueprint: "bp", ActionSet: "backup-x1", Namespace: actionNS, UID: "uid-1"}
	fc.rt.Target = target
	return fc, dyn
}

var webTarget = v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: testNS, Name: "web"}

// secretValue is the web Secret's value; it must not leave the bundle.
const secretValue = "hunter2-s3cr3t"

var webSeed = `
{apiVersion: v1, kind: Namespace, metadata: {name: app, uid: ns-uid, resourceVersion: "3"}, status: {phase: Active}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app, uid: dep-uid, resourceVersion: "40", labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web-sa
      containers:
      - name: web
        image: shop:1
        envFrom: [{secretRef: {name: web-secret}}]
      volumes: [{name: config, configMap: {name: web-config}}]
status: {replicas: 3, readyReplicas: 3}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: web-config, namespace: app, uid: cm-uid}, data: {level: info}}
---
{apiVersion: v1, kind: Secret, metadata: {name: web-secret, namespace: app}, type: Opaque, data: {password: ` + base64.StdEncoding.EncodeToString([]byte(secretValue)) + `}}
---
{apiVersion: v1, kind: ServiceAccount, metadata: {name: web-sa, namespace: app}}
---
{apiVersion: v1, kind: Service, metadata: {name: web, namespace: app}, spec: {clusterIP: 10.0.0.7, clusterIPs: [10.0.0.7], selector: {app: web}, ports: [{port: 80}]}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: unrelated, namespace: app}}
---
{apiVersion: v1, kind: Secret, metadata: {name: mover-creds, namespace: app, labels: {snapflow.dev/function: export}}, type: Opaque}`

// webCaptured are the objects backupResources captures of webSeed.
var webCaptured = []string{
	"Namespace/app",
	"Deployment.apps app/web",
	"ConfigMap app/web-config",
	"Secret app/web-secret",
	"Service app/web",
	"ServiceAccount app/web-sa",
}

func bundleRefs(b resources.Bundle) []string {
	var out []string
	for _, r := range b.Refs() {
		out = append(out, r.String())
	}
	return out
}

// bundleSecretOf is the bundle Secret fc's phase stored, decoded.
func bundleSecretOf(t *testing.T, fc *fakeCluster) (*corev1.Secret, resources.Bundle) {
	t.Helper()
	s, err := fc.kube.CoreV1().Secrets(actionNS).Get(context.Background(), fc.rt.Names.Name("resources"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := resources.Decode(s.Data[mover.BundleKey])
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

// backUpWeb runs backupResources with its defaults on the web target.
func backUpWeb(t *testing.T, fc *fakeCluster) BackupResourcesOutputs {
	t.Helper()
	out, err := invoke(context.Background(), BackupResources(), fc.rt, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var got BackupResourcesOutputs
	decodeOutputs(t, out, &got)
	return got
}

// TestBackupResourcesFakeSecret: without a Location the target's objects
// go, cleaned, into a Secret of the ActionSet's namespace that the
// ActionSet owns; the outputs say where and how many, and nothing the
// phase reports holds a Secret value. A resumed phase replaces it.
func TestBackupResourcesFakeSecret(t *testing.T) {
	fc, _ := newResourceCluster(t, webTarget, webSeed)
	got := backUpWeb(t, fc)

	name := fc.rt.Names.Name("resources")
	want := BackupResourcesOutputs{
		Bundle: ResourceBundle{Objects: len(webCaptured), Namespace: testNS, Secret: name},
		Counts: map[string]int{"Namespace": 1, "Deployment.apps": 1, "ConfigMap": 1, "Secret": 1, "Service": 1, "ServiceAccount": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	s, b := bundleSecretOf(t, fc)
	wantOwners := []metav1.OwnerReference{{
		APIVersion: "snapflow.dev/v1alpha1", Kind: "ActionSet", Name: "backup-x1", UID: "uid-1", Controller: ptr.To(false),
	}}
	if diff := cmp.Diff(wantOwners, s.OwnerReferences); diff != "" {
		t.Errorf("owner references (-want +got):\n%s", diff)
	}
	if s.Type != corev1.SecretTypeOpaque || len(s.Data) != 1 || s.Labels[LabelFunction] != "backupResources" {
		t.Errorf("secret %s: type %s, keys %v, labels %v", s.Name, s.Type, slices.Collect(maps.Keys(s.Data)), s.Labels)
	}
	if diff := cmp.Diff(webCaptured, bundleRefs(b)); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
	for _, o := range b.Objects {
		if _, found := o.Object["status"]; found || o.GetUID() != "" || o.GetResourceVersion() != "" {
			t.Errorf("%s is not cleaned: %v", resources.RefOf(o), o.Object)
		}
	}
	for _, o := range b.Objects {
		switch resources.RefOf(o).String() {
		case "Secret app/web-secret":
			if v, _, _ := unstructured.NestedString(o.Object, "data", "password"); v != base64.StdEncoding.EncodeToString([]byte(secretValue)) {
				t.Errorf("secret value %q not kept in the bundle", v)
			}
		case "Service app/web":
			if _, found, _ := unstructured.NestedString(o.Object, "spec", "clusterIP"); found {
				t.Error("the Service keeps its clusterIP")
			}
		case "Deployment.apps app/web":
			if n, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); n != 3 {
				t.Errorf("deployment captured with %d replicas, want 3", n)
			}
		}
	}

	outputs, _ := json.Marshal(got)
	reported := append(fc.recorded(), string(outputs))
	var messages int
	for _, e := range reported {
		if strings.HasPrefix(e, "message ") {
			messages++
			if !strings.HasPrefix(e, "message captured 6 objects of app (") {
				t.Errorf("message %q", e)
			}
		}
		for _, v := range []string{secretValue, base64.StdEncoding.EncodeToString([]byte(secretValue))} {
			if strings.Contains(e, v) {
				t.Errorf("%q holds the Secret value", e)
			}
		}
	}
	if messages != 1 {
		t.Errorf("%d messages, want 1: %v", messages, reported)
	}

	// A resumed phase stores the bundle again, over the first.
	if again := backUpWeb(t, fc); again.Bundle != got.Bundle {
		t.Errorf("resumed: bundle %+v, want %+v", again.Bundle, got.Bundle)
	}
	secrets, err := fc.kube.CoreV1().Secrets(actionNS).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(secrets.Items) != 1 {
		t.Errorf("after a resume: %d secrets, %v; want 1", len(secrets.Items), err)
	}
}

// TestBackupResourcesFakeArgs: kind, name, namespace, include and
// labelSelector choose what is captured.
func TestBackupResourcesFakeArgs(t *testing.T) {
	seed := webSeed + `
---
{apiVersion: v1, kind: Namespace, metadata: {name: other}}
---
{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: other}, spec: {template: {metadata: {labels: {app: db}}, spec: {volumes: [{name: c, configMap: {name: db-config}}, {name: d, configMap: {name: db-extra}}]}}}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: db-config, namespace: other, labels: {keep: "yes"}}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: db-extra, namespace: other}}`
	fc, _ := newResourceCluster(t, webTarget, seed)
	in := BackupResourcesArgs{Kind: "StatefulSet", Name: "db", Namespace: "other", Scope: "workload", LabelSelector: "keep=yes", Include: []string{"ConfigMap", "StatefulSet.apps"}}
	got, err := runBackupResources(context.Background(), fc.rt, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"Namespace": 1, "StatefulSet.apps": 1, "ConfigMap": 1}; !cmp.Equal(want, got.Counts) {
		t.Errorf("counts %v, want %v", got.Counts, want)
	}
	_, b := bundleSecretOf(t, fc)
	if diff := cmp.Diff([]string{"Namespace/other", "StatefulSet.apps other/db", "ConfigMap other/db-config"}, bundleRefs(b)); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
	if got.Bundle.Namespace != "other" {
		t.Errorf("bundle namespace %q, want other", got.Bundle.Namespace)
	}
}

// TestBackupResourcesFakeBadArgsArePermanent: arguments no retry can fix
// fail permanently, storing nothing; a workload that is missing fails
// too, but a retry may find it.
func TestBackupResourcesFakeBadArgsArePermanent(t *testing.T) {
	base := BackupResourcesArgs{Scope: "workload", Source: "snapflow"}
	for _, tc := range []struct {
		name    string
		args    func(*BackupResourcesArgs)
		target  v1alpha1.ObjectReference
		wantErr string
	}{
		{"scope", func(a *BackupResourcesArgs) { a.Scope = "cluster" }, webTarget, `scope "cluster" is not "workload" or "namespace"`},
		{"labelSelector", func(a *BackupResourcesArgs) { a.LabelSelector = "app in (web" }, webTarget, "labelSelector: "},
		{"include", func(a *BackupResourcesArgs) { a.Include = []string{"ConfigMap", ".apps"} }, webTarget, `include: ".apps" is not Kind or Kind.group`},
		{"exclude", func(a *BackupResourcesArgs) { a.Exclude = []string{""} }, webTarget, `exclude: "" is not Kind or Kind.group`},
		{"cluster-scoped target", func(*BackupResourcesArgs) {}, v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: "app"}, "no namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc, _ := newResourceCluster(t, tc.target, webSeed)
			in := base
			tc.args(&in)
			_, err := runBackupResources(context.Background(), fc.rt, in)
			if !function.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want a permanent one saying %q", err, tc.wantErr)
			}
			if _, err := fc.kube.CoreV1().Secrets(actionNS).Get(context.Background(), fc.rt.Names.Name("resources"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("a bundle Secret was stored: %v", err)
			}
		})
	}

	t.Run("missing workload", func(t *testing.T) {
		fc, _ := newResourceCluster(t, webTarget, webSeed)
		in := base
		in.Name = "gone"
		_, err := runBackupResources(context.Background(), fc.rt, in)
		if err == nil || function.IsPermanent(err) || !apierrors.IsNotFound(err) {
			t.Fatalf("error %v, want a retryable not found", err)
		}
	})
	t.Run("no dynamic client", func(t *testing.T) {
		fc, _ := newResourceCluster(t, webTarget, webSeed)
		fc.rt.Clients.Dynamic = nil
		if _, err := runBackupResources(context.Background(), fc.rt, base); err == nil {
			t.Fatal("ran without a dynamic client")
		}
	})
}

// TestBackupResourcesFakeTooBigForASecret: a bundle a Secret cannot hold
// fails permanently, saying how to narrow it.
func TestBackupResourcesFakeTooBigForASecret(t *testing.T) {
	noise := make([]byte, 1200<<10) // random: compresses to little less
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	fc, dyn := newResourceCluster(t, webTarget, webSeed)
	cm, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(testNS).Get(context.Background(), "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(cm.Object, base64.StdEncoding.EncodeToString(noise), "data", "blob"); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(testNS).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = runBackupResources(context.Background(), fc.rt, BackupResourcesArgs{Scope: "workload"})
	if !function.IsPermanent(err) || !strings.Contains(err.Error(), "more than the 1024000 a Secret may hold") {
		t.Fatalf("error %v, want a permanent one saying the Secret is too small", err)
	}
}

// TestBackupResourcesFakeSkipsSnapflowMade: what snapflow's functions
// made for a run is not the application's, except a claim restore made.
func TestBackupResourcesFakeSkipsSnapflowMade(t *testing.T) {
	fc, _ := newResourceCluster(t, webTarget, `
{apiVersion: v1, kind: Namespace, metadata: {name: app}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app, labels: {snapflow.dev/function: restoreResources}}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes:
      - {name: a, persistentVolumeClaim: {claimName: restored}}
      - {name: b, persistentVolumeClaim: {claimName: clone}}
      - {name: c, secret: {secretName: creds}}
---
{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: restored, namespace: app, labels: {snapflow.dev/function: restore}}}
---
{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: clone, namespace: app, labels: {snapflow.dev/function: cloneReadOnly}}}
---
{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: app, labels: {snapflow.dev/function: mover}}}
---
{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: mover, namespace: app, labels: {snapflow.dev/function: mover}}, spec: {podSelector: {}}}`)
	if _, err := runBackupResources(context.Background(), fc.rt, BackupResourcesArgs{Scope: "workload"}); err != nil {
		t.Fatal(err)
	}
	_, b := bundleSecretOf(t, fc)
	// The workload is kept whatever its labels.
	if diff := cmp.Diff([]string{"Namespace/app", "Deployment.apps app/web", "PersistentVolumeClaim app/restored"}, bundleRefs(b)); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
}
