//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
	"github.com/snapflow/snapflow/functions"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// tenancyBlueprints are what a tenant tries: snapshot a claim, run a task
// pod in a namespace of its choice, read its Location, restore a snapshot.
const tenancyBlueprints = `
metadata: {name: tenant}
spec:
  params:
    taskNamespace: {type: string, default: ""}
  actions:
    snap:
      phases:
      - name: snap
        func: snapshot
        args: {namespace: "${{ workload.namespace }}", pvcs: "${{ workload.pvcs.map(p, p.name) }}", durable: false, timeout: 2m}
    task:
      phases:
      - name: task
        func: kubeTask
        args: {namespace: "${{ params.taskNamespace }}", image: busybox, command: [sh, -c, "true"], timeout: 1m}
    where:
      phases:
      - {name: report, func: log, args: {message: "${{ location.name }}"}}
    restore:
      phases:
      - name: restore
        func: restore
        args: {snapshots: "${{ artifacts.snapshots }}", namespace: "${{ workload.namespace }}", timeout: 1m}
`

// TestTenancy runs ActionSets in tenant-a, whose runs act as a
// ServiceAccount with rights in tenant-a only (and the cluster reads), the
// default of `kubectl snapflow rbac`. Each attempt to reach outside fails
// with the API server's reason and creates nothing; granting the rights in
// the other namespace makes the same backup succeed.
func TestTenancy(t *testing.T) {
	c := startController(t)
	ctx := t.Context()
	tenant := namespaceWith(t, "tenant-a", &plugin.RunnerAccess{})
	victim := namespaceWith(t, "victim", nil)
	for _, ns := range []string{tenant, victim} {
		if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitBound(t, ns, "data")
	}
	if err := c.Create(ctx, blueprint(t, tenant, tenancyBlueprints)); err != nil {
		t.Fatal(err)
	}
	run := func(name, action string, object v1alpha1.ObjectReference, mutate func(*v1alpha1.ActionSetSpec)) *v1alpha1.ActionSet {
		t.Helper()
		as := actionSet(tenant, name, "tenant", action, "data")
		as.Spec.Object = object
		if mutate != nil {
			mutate(&as.Spec)
		}
		if err := c.Create(ctx, as); err != nil {
			t.Fatal(err)
		}
		return finished(t, c, tenant, name)
	}
	refused := func(as *v1alpha1.ActionSet, want ...string) {
		t.Helper()
		if as.Status.State != v1alpha1.ActionSetFailed {
			t.Fatalf("ActionSet %s: state %s, want Failed", as.Name, as.Status.State)
		}
		for _, w := range want {
			if !strings.Contains(as.Status.Message, w) {
				t.Errorf("ActionSet %s message %q does not say %q", as.Name, as.Status.Message, w)
			}
		}
	}
	victimClaim := v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: victim, Name: "data"}
	ownClaim := v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}
	runner := `User "system:serviceaccount:tenant-a:snapflow-runner" cannot `

	t.Run("target in another namespace", func(t *testing.T) {
		as := run("snap-victim", "snap", victimClaim, nil)
		refused(as, runner+`get resource "persistentvolumeclaims"`, `in the namespace "victim"`)
		if n := countSnapshots(t, victim); n != 0 {
			t.Errorf("%d VolumeSnapshots in %s, want none", n, victim)
		}
	})
	t.Run("task pod in the system namespace", func(t *testing.T) {
		as := run("task-system", "task", ownClaim, func(s *v1alpha1.ActionSetSpec) {
			s.Params = map[string]apiextensionsv1.JSON{"taskNamespace": {Raw: []byte(`"kube-system"`)}}
		})
		refused(as, runner+`create resource "pods"`, `in the namespace "kube-system"`)
		pods, err := env.kube.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: functions.LabelFunction})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 0 {
			t.Errorf("%d snapflow pods in kube-system, want none", len(pods.Items))
		}
	})
	t.Run("Location Secret in another namespace", func(t *testing.T) {
		loc := &v1alpha1.Location{
			ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "borrowed"},
			Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Container: "c",
				RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: "password", Namespace: victim}},
		}
		if err := c.Create(ctx, loc); err != nil {
			t.Fatal(err)
		}
		as := run("where", "where", ownClaim, func(s *v1alpha1.ActionSetSpec) {
			s.Location = &v1alpha1.LocalObjectReference{Name: "borrowed"}
		})
		refused(as, `spec.repositoryPasswordSecretRef.namespace "victim": a Location's Secrets must be in its own namespace "tenant-a"`)
	})
	t.Run("restore from a forged snapshot handle", func(t *testing.T) {
		forged, err := json.Marshal([]map[string]any{{
			"pvc": "forged", "namespace": "elsewhere", "volumeSnapshot": "gone", "snapshotHandle": "forged-handle",
			"driver": cluster.CSIDriverName, "size": "1Mi", "storageClass": env.c.StorageClass,
			"accessModes": []string{"ReadWriteOnce"}, "volumeMode": "Filesystem",
		}})
		if err != nil {
			t.Fatal(err)
		}
		as := run("restore-forged", "restore", v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "restored"},
			func(s *v1alpha1.ActionSetSpec) {
				s.Artifacts = &v1alpha1.ArtifactsSource{Inline: map[string]apiextensionsv1.JSON{"snapshots": {Raw: forged}}}
			})
		refused(as, `phase "restore"`, runner+`create resource "volumesnapshotcontents"`)
		contents, err := env.dyn.Resource(volumeSnapshotGVR.GroupVersion().WithResource("volumesnapshotcontents")).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, vsc := range contents.Items {
			if h, _, _ := unstructured.NestedString(vsc.Object, "spec", "source", "snapshotHandle"); h == "forged-handle" {
				t.Errorf("VolumeSnapshotContent %s holds the forged handle", vsc.GetName())
			}
		}
	})
	t.Run("granted in the other namespace", func(t *testing.T) {
		if err := grant(ctx, plugin.RunnerAccess{Namespace: tenant, ServiceAccount: v1alpha1.DefaultServiceAccountName, TargetNamespaces: []string{victim}}); err != nil {
			t.Fatal(err)
		}
		mustSucceed(t, run("snap-victim-granted", "snap", victimClaim, nil))
		if n := countSnapshots(t, victim); n != 1 {
			t.Errorf("%d VolumeSnapshots in %s, want 1", n, victim)
		}
	})
}

// countSnapshots counts the VolumeSnapshots in ns.
func countSnapshots(t *testing.T, ns string) int {
	t.Helper()
	list, err := env.dyn.Resource(volumeSnapshotGVR).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
