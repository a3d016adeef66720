//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/functions/resources"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// shopSecret is the app's Secret value; the test scans for it where
// secrets must never appear.
const shopSecret = "e2e-Shop-t0ken-must-not-leak"

// shopObjects are the objects of the shop app besides basic-app's
// Deployment and claim, which use them.
const shopObjects = `
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-config, namespace: NS, labels: {app: basic-app}}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-secret, namespace: NS}
stringData: {token: ` + shopSecret + `}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shop, namespace: NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: shop-reader, namespace: NS}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-reader, namespace: NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: shop-reader}
subjects: [{kind: ServiceAccount, name: shop, namespace: NS}]
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: NS}
spec:
  selector: {app: basic-app}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: NS}
data: {not: captured}
`

// shopKinds are the objects backupResources must capture, by kind.
var shopKinds = map[string]int{
	"Namespace": 1, "Deployment.apps": 1, "ConfigMap": 1, "Secret": 1, "ServiceAccount": 1,
	"Role.rbac.authorization.k8s.io": 1, "RoleBinding.rbac.authorization.k8s.io": 1,
	"Service": 1, "PersistentVolumeClaim": 1,
}

// TestApplicationRestore backs up the shop app (basic-app with a
// ConfigMap, a Secret, a ServiceAccount with a Role and RoleBinding, and
// a Service) with csi-snapshot's export to Azurite, loses its namespace
// and snapshots, and restores it from the Location alone: every object is
// back with its spec, the Secret's values are identical and the app runs
// on its data. The same restore point then goes into another namespace
// with a StorageClass mapping and a JSON patch, and the policies for
// objects that exist are tried on a changed ConfigMap. No Secret value
// leaks.
func TestApplicationRestore(t *testing.T) {
	c := startController(t)
	sets := namespace(t, "res-sets")
	libraryBlueprint(t, c, sets, "csi-snapshot")
	if err := c.Create(t.Context(), blueprint(t, sets, objectsOnlyBlueprint)); err != nil {
		t.Fatal(err)
	}
	key := azureLocation(t, c, sets, "res-az")
	app := namespace(t, "res-app")
	copyNS := namespace(t, "res-copy")
	movers := captureMoverLogs(t, sets, app, copyNS)
	pod := shopApp(t, app)
	before := shopState(t, app)

	backup := createBackup(t, c, sets, "res-backup", app, "res-az")
	done := finished(t, c, sets, backup.Name)
	mustSucceed(t, done)
	var counts map[string]int
	phaseOutput(t, done, "objects", "counts", &counts)
	if diff := cmp.Diff(shopKinds, counts); diff != "" {
		t.Errorf("captured kinds (-want +got):\n%s", diff)
	}
	var snaps []snapshotOut
	phaseOutput(t, done, "snap", "snapshots", &snaps)
	cut := parseTime(t, snaps[0].CreationTime)
	original := appLines(t, app, pod)
	restorePoint := artifactString(t, done, "restorePoint")

	loseEverything(t, c, sets, "res-az", backup, snaps[0].Content)

	path := pluginPATH(t)
	created, _ := kubectlPlugin(t, path, "snapflow", "restore", "--location", "res-az", "--restore-point", restorePoint, "-n", sets)
	restored := strings.TrimSpace(created)
	compareRestored(t, c, sets, restored, app, original, cut)
	if diff := cmp.Diff(before, shopState(t, app)); diff != "" {
		t.Errorf("restored objects (-backed up +restored):\n%s", diff)
	}

	t.Run("another namespace, mapped and patched", func(t *testing.T) {
		class := copyClass(t)
		created, _ := kubectlPlugin(t, path, "snapflow", "restore", "--location", "res-az", "--restore-point", restorePoint,
			"-n", sets, "--to-namespace", copyNS,
			"--param", fmt.Sprintf("storageClasses={%s: %s}", env.c.StorageClass, class),
			"--param", "patches=[{kind: ConfigMap, name: shop-config, patch: [{op: add, path: /data/copy, value: 'yes'}]}]")
		compareRestored(t, c, sets, strings.TrimSpace(created), copyNS, original, cut)
		claim, err := env.kube.CoreV1().PersistentVolumeClaims(copyNS).Get(t.Context(), "data", metav1.GetOptions{})
		if err != nil || ptr.Deref(claim.Spec.StorageClassName, "") != class {
			t.Errorf("claim data in %s: class %v (%v), want %s", copyNS, claim.Spec.StorageClassName, err, class)
		}
		cm, err := env.kube.CoreV1().ConfigMaps(copyNS).Get(t.Context(), "shop-config", metav1.GetOptions{})
		if err != nil || cm.Data["copy"] != "yes" || cm.Data["greeting"] != "hello" {
			t.Errorf("ConfigMap shop-config in %s: %v (%v), want the patch applied", copyNS, cm.Data, err)
		}
		rb, err := env.kube.RbacV1().RoleBindings(copyNS).Get(t.Context(), "shop-reader", metav1.GetOptions{})
		if err != nil || len(rb.Subjects) != 1 || rb.Subjects[0].Namespace != copyNS {
			t.Errorf("RoleBinding shop-reader in %s: %+v (%v), want its subject mapped to %s", copyNS, rb.Subjects, err, copyNS)
		}
	})

	t.Run("existing objects", func(t *testing.T) {
		restoredSet := &v1alpha1.ActionSet{}
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: sets, Name: restored}, restoredSet); err != nil {
			t.Fatal(err)
		}
		changeGreeting(t, app, "changed")
		objectsOnly(t, c, restoredSet, "skip", true)
		if got := greeting(t, app); got != "changed" {
			t.Errorf("after skip, greeting = %q, want the user's change kept", got)
		}
		objectsOnly(t, c, restoredSet, "fail", false)
		objectsOnly(t, c, restoredSet, "update", true)
		if got := greeting(t, app); got != "hello" {
			t.Errorf("after update, greeting = %q, want the captured %q", got, "hello")
		}
	})

	noSecretsLeaked(t, append(knownSecrets(), key, shopSecret), movers, sets, app, copyNS)
}

// objectsOnlyBlueprint recreates a restore point's objects and nothing
// else, with the policy the ActionSet gives.
const objectsOnlyBlueprint = `
apiVersion: snapflow.dev/v1alpha1
kind: Blueprint
metadata: {name: objects-only}
spec:
  params:
    existing: {type: string, default: skip}
  actions:
    restore:
      phases:
      - name: objects
        func: restoreResources
        args:
          bundle: "${{ artifacts.resources }}"
          policy: "${{ params.existing }}"
`

// objectsOnly runs objects-only with restore point of from and policy;
// with fail it must fail naming the changed ConfigMap.
func objectsOnly(t *testing.T, c client.Client, from *v1alpha1.ActionSet, policy string, succeeds bool) {
	t.Helper()
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: from.Namespace, Name: "objects-" + policy},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "objects-only"}, Action: "restore",
			Object: from.Spec.Object, Location: from.Spec.Location, Artifacts: from.Spec.Artifacts,
			Params: jsonArgs(t, `{"existing": "`+policy+`"}`),
		},
	}
	if err := c.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, as.Namespace, as.Name)
	if succeeds {
		mustSucceed(t, done)
		return
	}
	want := "ConfigMap " + from.Spec.Object.Namespace + "/shop-config exists, differs from the captured one"
	if done.Status.State != v1alpha1.ActionSetFailed || !strings.Contains(done.Status.Message, want) || !strings.Contains(done.Status.Message, `phase "objects"`) {
		t.Errorf("policy fail: %s %q, want Failed saying %q", done.Status.State, done.Status.Message, want)
	}
}

// shopApp deploys basic-app into ns as the shop app: its pod runs as the
// shop ServiceAccount and reads shop-config and shop-secret.
func shopApp(t *testing.T, ns string) string {
	t.Helper()
	kubectlIn(t, strings.ReplaceAll(shopObjects, "namespace: NS", "namespace: "+ns), "apply", "-f", "-")
	deploy := basicAppDeployment(t, ns, 1)
	deploy = strings.Replace(deploy, "    spec:\n      containers:\n", "    spec:\n      serviceAccountName: shop\n      containers:\n", 1)
	deploy = strings.Replace(deploy, "        image: busybox:1.36\n",
		"        image: busybox:1.36\n        envFrom:\n        - configMapRef: {name: shop-config}\n        - secretRef: {name: shop-secret}\n", 1)
	claim := fmt.Sprintf("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: %s}\nspec:\n  storageClassName: %s\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n", ns, env.c.StorageClass)
	kubectlIn(t, claim+"---\n"+deploy, "apply", "-f", "-")
	pod := appPod(t, ns)
	eventually(t, "basic-app writes 3 lines", func(ctx context.Context) (bool, error) {
		return len(appLines(t, ns, pod)) >= 3, nil
	})
	return pod
}

// shopStateObjects are the objects shopState compares.
var shopStateObjects = []struct {
	gvr  schema.GroupVersionResource
	name string
}{
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "basic-app"},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "shop-config"},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "shop-secret"},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "shop"},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, "shop-reader"},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, "shop-reader"},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "shop"},
}

// shopState is the shop app's objects in ns, cleaned of what the cluster
// owns, and its claim's spec without the volume binding: what a restore
// must bring back.
func shopState(t *testing.T, ns string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, o := range shopStateObjects {
		obj, err := env.dyn.Resource(o.gvr).Namespace(ns).Get(t.Context(), o.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		clean := resources.Clean(obj, nil)
		unstructured.RemoveNestedField(clean.Object, "metadata", "annotations", "snapflow.dev/replicas")
		if len(clean.GetAnnotations()) == 0 {
			unstructured.RemoveNestedField(clean.Object, "metadata", "annotations")
		}
		out[o.gvr.Resource+"/"+o.name] = clean.Object
	}
	claim, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["claim"] = map[string]any{"class": ptr.Deref(claim.Spec.StorageClassName, ""), "modes": claim.Spec.AccessModes,
		"size": claim.Spec.Resources.Requests.Storage().String()}
	raw, _ := json.Marshal(out)
	var norm map[string]any
	if err := json.Unmarshal(raw, &norm); err != nil {
		t.Fatal(err)
	}
	return norm
}

// copyClass is a second StorageClass of the test driver, for the
// StorageClass mapping.
func copyClass(t *testing.T) string {
	t.Helper()
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "snapflow-res-copy"},
		Provisioner:       cluster.CSIDriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
	}
	if _, err := env.kube.StorageV1().StorageClasses().Create(t.Context(), sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.StorageV1().StorageClasses().Delete(context.Background(), sc.Name, metav1.DeleteOptions{})
	})
	return sc.Name
}

func changeGreeting(t *testing.T, ns, to string) {
	t.Helper()
	cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(t.Context(), "shop-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["greeting"] = to
	if _, err := env.kube.CoreV1().ConfigMaps(ns).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func greeting(t *testing.T, ns string) string {
	t.Helper()
	cm, err := env.kube.CoreV1().ConfigMaps(ns).Get(t.Context(), "shop-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["greeting"]
}
