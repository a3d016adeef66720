//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/csidriver"
)

// cloneBlueprint snapshots, clones read-only, then waits for a ConfigMap
// so the test can read the clone and cancel the action.
const cloneBlueprint = `
metadata: {name: clone}
spec:
  actions:
    backup:
      phases:
      - name: snap
        func: snapshot
        args: {namespace: "${{ workload.namespace }}", pvcs: "${{ workload.pvcs.map(p, p.name) }}"}
      - name: clone
        func: cloneReadOnly
        args: {snapshots: "${{ phases.snap.snapshots }}"}
      - name: gate
        func: wait
        args: {apiVersion: v1, kind: ConfigMap, namespace: "${{ workload.namespace }}", name: go, condition: "object.data.go == 'yes'", timeout: 10m}
      finally:
      - name: bye
        func: log
        args: {message: done}
`

// TestCloneReadOnlyIsShallowAndCancelCleansUp clones basic-app's snapshot
// read-only: the clone holds the app's data and copied 0 bytes.
// Cancelling the action then runs the finally phase and the cleanup that
// deletes the clone.
func TestCloneReadOnlyIsShallowAndCancelCleansUp(t *testing.T) {
	c := startController(t)
	ns := namespace(t, "vol-clone")
	pod := basicApp(t, ns, env.c.StorageClass)
	if err := c.Create(t.Context(), blueprint(t, ns, cloneBlueprint)); err != nil {
		t.Fatal(err)
	}
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "clone"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "clone"}, Action: "backup",
			Object: v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "basic-app"},
		},
	}
	if err := c.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "clone"}
	running := waitActionSet(t, c, key, "in phase gate", func(as *v1alpha1.ActionSet) bool { return as.Status.CurrentPhase == "gate" })
	var clones []struct {
		Name string `json:"name"`
	}
	phaseOutput(t, running, "clone", "pvcs", &clones)
	if len(clones) != 1 {
		t.Fatalf("clones = %+v, want one", clones)
	}
	clone := waitBound(t, ns, clones[0].Name)
	if modes := clone.Spec.AccessModes; len(modes) != 1 || modes[0] != "ReadOnlyMany" {
		t.Errorf("clone access modes %v, want [ReadOnlyMany]", modes)
	}
	stats, err := csidriver.ReadStats(env.c.CSIDataDir)
	if err != nil {
		t.Fatal(err)
	}
	if copied, ok := stats.PerVolume[volumeHandle(t, ns, clones[0].Name)]; !ok || copied != 0 {
		t.Errorf("the read-only clone copied %d bytes (recorded: %v), want 0", copied, ok)
	}
	reader := shellPod("reader", clones[0].Name, true, "head -n 2 /data/date.txt; exec sleep 3600")
	if _, err := env.kube.CoreV1().Pods(ns).Create(t.Context(), reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, "reader")
	want := strings.Join(appLines(t, ns, pod)[:2], "\n")
	if got := strings.TrimSpace(kubectl(t, "exec", "-n", ns, "reader", "--", "head", "-n", "2", "/data/date.txt")); got != want {
		t.Errorf("clone reads %q, the app's first lines are %q", got, want)
	}
	if err := env.kube.CoreV1().Pods(ns).Delete(t.Context(), "reader", metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(0)}); err != nil {
		t.Fatal(err)
	}

	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"cancel":true}}`))
	if err := c.Patch(t.Context(), &v1alpha1.ActionSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "clone"}}, patch); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, ns, "clone")
	if done.Status.State != v1alpha1.ActionSetCancelled {
		t.Fatalf("state %s (%s), want Cancelled", done.Status.State, done.Status.Message)
	}
	for _, p := range done.Status.Phases {
		if p.Name == "bye" && p.State != v1alpha1.PhaseSucceeded {
			t.Errorf("finally phase bye is %s, want Succeeded", p.State)
		}
	}
	eventually(t, "the cleanup deletes the clone", func(ctx context.Context) (bool, error) {
		_, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, clones[0].Name, metav1.GetOptions{})
		return gone(err), client.IgnoreNotFound(err)
	})
	if len(done.Status.PendingCleanups) > 0 {
		t.Errorf("pending cleanups after cancel: %v", done.Status.PendingCleanups)
	}
}
