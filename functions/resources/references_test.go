package resources

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// scopeKinds are the kinds the capture tests' cluster serves, with
// whether they are namespaced.
func TestCaptureFakeStatefulSetClaims(t *testing.T) {
	seed := `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: c, image: x}]
      volumes: [{name: shared, persistentVolumeClaim: {claimName: shared}}]
  volumeClaimTemplates:
  - {metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}
  - {metadata: {name: logs}, spec: {accessModes: [ReadWriteOnce]}}`
	claims := []string{"data-db-0", "data-db-1", "data-db-12", "logs-db-0", "shared",
		"data-db-x", "data-dbx-0", "data-db2-0", "other-db-0", "data-db-0-old", "xdata-db-0", "data-db-", "data-web-0"}
	for _, n := range claims {
		seed += "\n---\n{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: " + n + ", namespace: shop}, spec: {volumeName: pv-" + n + "}}"
	}
	c, _ := fakeCapturer(t, seed)
	sts := &Ref{Group: "apps", Kind: "StatefulSet", Namespace: "shop", Name: "db"}
	b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: sts})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Namespace/shop",
		"StatefulSet.apps shop/db",
		"PersistentVolumeClaim shop/data-db-0",
		"PersistentVolumeClaim shop/data-db-1",
		"PersistentVolumeClaim shop/data-db-12",
		"PersistentVolumeClaim shop/logs-db-0",
		"PersistentVolumeClaim shop/shared",
	}
	if diff := cmp.Diff(want, refStrings(b)); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}
	for _, o := range b.Objects[2:] {
		if _, found, _ := unstructured.NestedString(o.Object, "spec", "volumeName"); found {
			t.Errorf("%s keeps its volumeName", RefOf(o))
		}
	}

	obj := b.Objects[1]
	mounted := map[string]bool{"data-db-0": true, "data-db-1": true, "data-db-12": true, "logs-db-0": true, "shared": true}
	for _, n := range claims {
		if got := Mounts(obj, n); got != mounted[n] {
			t.Errorf("Mounts(db, %s) = %v, want %v", n, got, mounted[n])
		}
	}
	// Only a StatefulSet makes claims from templates; a Pod's volumes count.
	dep := object(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: db}, spec: {volumeClaimTemplates: [{metadata: {name: data}}], template: {spec: {volumes: [{name: v, persistentVolumeClaim: {claimName: mine}}]}}}}`)
	pod := object(t, `{apiVersion: v1, kind: Pod, metadata: {name: db-0}, spec: {volumes: [{name: v, persistentVolumeClaim: {claimName: mine}}]}}`)
	for _, tc := range []struct {
		obj   *unstructured.Unstructured
		claim string
		want  bool
	}{{dep, "data-db-0", false}, {dep, "mine", true}, {dep, "other", false}, {pod, "mine", true}, {pod, "data-db-0", false}} {
		if got := Mounts(tc.obj, tc.claim); got != tc.want {
			t.Errorf("Mounts(%s %s, %s) = %v, want %v", tc.obj.GetKind(), tc.obj.GetName(), tc.claim, got, tc.want)
		}
	}
}

// TestCaptureFakePDBEmptySelector records what policy/v1 says of a PDB
// whose selector is empty ({}): it selects every pod of the namespace,
// so it applies to the workload; a null selector selects none.
func TestCaptureFakePDBEmptySelector(t *testing.T) {
	c, _ := fakeCapturer(t, `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {template: {metadata: {labels: {app: web}}}}}
---
{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb-null, namespace: shop}, spec: {maxUnavailable: 1}}
---
{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb-all, namespace: shop}, spec: {maxUnavailable: 1, selector: {}}}`)
	b, err := c.Capture(context.Background(), Scope{Namespace: "shop", Workload: webWorkload})
	if err != nil {
		t.Fatal(err)
	}
	got := refStrings(b)
	if slices.Contains(got, "PodDisruptionBudget.policy shop/pdb-null") {
		t.Errorf("a PDB with a null selector was captured: %v", got)
	}
	if !slices.Contains(got, "PodDisruptionBudget.policy shop/pdb-all") {
		t.Errorf("a PDB with selector {} selects every pod, so it is the workload's, but was not captured: %v", got)
	}
}
