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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/engine/controller"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const helloBlueprint = `
apiVersion: snapflow.dev/v1alpha1
kind: Blueprint
metadata: {name: hello}
spec:
  actions:
    backup:
      phases:
      - name: greet
        func: log
        args: {message: "backing up ${{ workload.name }}"}
      - name: nap
        func: sleep
        args: {duration: 200ms}
      - name: check
        func: log
        args: {message: "${{ phases.greet.message }} after ${{ string(phases.nap.slept) }}"}
      finally:
      - name: bye
        func: log
        args: {message: bye}
      outputs:
        said: "${{ phases.greet.message }}"
        claims: "${{ workload.pvcs.map(p, p.name) }}"
        class: "${{ workload.pvcs[0].storageClass }}"
`

// TestControllerRunsAction runs a blueprint of builtins against a claim:
// every phase succeeds, the artifacts and Events are recorded, and
// kubectl wait and get work on the ActionSet.
func TestControllerRunsAction(t *testing.T) {
	t.Parallel()
	c := startController(t)
	ns := namespace(t, "ctrl-run")
	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, blueprint(t, ns, helloBlueprint)); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, actionSet(ns, "backup-1", "hello", "backup", "data")); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "backup-1"}
	as := waitActionSet(t, c, key, "final", func(as *v1alpha1.ActionSet) bool { return as.Status.State.Final() })
	if as.Status.State != v1alpha1.ActionSetSucceeded {
		t.Fatalf("state = %s (%s), want Succeeded", as.Status.State, as.Status.Message)
	}
	var states []string
	for _, p := range as.Status.Phases {
		states = append(states, fmt.Sprintf("%s/%s=%s", p.Stage, p.Name, p.State))
	}
	want := []string{"main/greet=Succeeded", "main/nap=Succeeded", "main/check=Succeeded", "finally/bye=Succeeded"}
	if diff := cmp.Diff(states, want); diff != "" {
		t.Errorf("phases (-got +want):\n%s", diff)
	}
	artifacts := map[string]any{}
	for k, v := range as.Status.Artifacts {
		var x any
		if err := json.Unmarshal(v.Raw, &x); err != nil {
			t.Fatal(err)
		}
		artifacts[k] = x
	}
	wantArtifacts := map[string]any{"said": "backing up data", "claims": []any{"data"}, "class": env.c.StorageClass}
	if diff := cmp.Diff(artifacts, wantArtifacts); diff != "" {
		t.Errorf("artifacts (-got +want):\n%s", diff)
	}
	if as.Status.CompletionTime == nil || as.Status.Progress.Percent != 100 || len(as.Status.PendingCleanups) != 0 {
		t.Errorf("completionTime %v, progress %d, pending cleanups %v", as.Status.CompletionTime, as.Status.Progress.Percent, as.Status.PendingCleanups)
	}
	if c := meta.FindStatusCondition(as.Status.Conditions, v1alpha1.ConditionComplete); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Complete condition = %+v, want True", c)
	}
	kubectl(t, "wait", "-n", ns, "--for=condition=Complete", "actionset/backup-1", "--timeout=60s")
	out := kubectl(t, "get", "actionsets", "-n", ns)
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if diff := cmp.Diff(header, []string{"NAME", "STATE", "PHASE", "PROGRESS", "AGE"}); diff != "" {
		t.Errorf("kubectl get actionsets columns (-got +want):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "Succeeded") || !strings.Contains(out, "100") {
		t.Errorf("kubectl get actionsets:\n%s", out)
	}
	wantEvents := map[string]bool{}
	for _, p := range []string{"greet", "nap", "check", "bye"} {
		stage := "main"
		if p == "bye" {
			stage = "finally"
		}
		wantEvents[fmt.Sprintf("PhaseStarted: %s phase %q started", stage, p)] = true
		wantEvents[fmt.Sprintf("PhaseSucceeded: %s phase %q succeeded", stage, p)] = true
	}
	eventually(t, "phase Events", func(ctx context.Context) (bool, error) {
		list, err := env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=backup-1"})
		if err != nil {
			return false, err
		}
		seen := map[string]bool{}
		for _, e := range list.Items {
			seen[e.Reason+": "+e.Message] = true
		}
		for w := range wantEvents {
			if !seen[w] {
				return false, nil
			}
		}
		return true, nil
	})
}

// TestControllerInvalidBlueprint: a blueprint that calls an unknown
// function is marked invalid with positioned errors, and its ActionSet
// fails with those errors without running a phase.
func TestControllerInvalidBlueprint(t *testing.T) {
	t.Parallel()
	c := startController(t)
	ns := namespace(t, "ctrl-invalid")
	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(helloBlueprint, "func: sleep", "func: slumber", 1)
	if err := c.Create(ctx, blueprint(t, ns, bad)); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, actionSet(ns, "backup-bad", "hello", "backup", "data")); err != nil {
		t.Fatal(err)
	}
	as := waitActionSet(t, c, client.ObjectKey{Namespace: ns, Name: "backup-bad"}, "final",
		func(as *v1alpha1.ActionSet) bool { return as.Status.State.Final() })
	bp := &v1alpha1.Blueprint{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, bp); err != nil {
		t.Fatal(err)
	}
	valid := meta.FindStatusCondition(bp.Status.Conditions, controller.ConditionValid)
	if valid == nil || valid.Status != metav1.ConditionFalse {
		t.Fatalf("Valid condition = %+v, want False", valid)
	}
	if len(bp.Status.Errors) != 1 {
		t.Fatalf("blueprint errors = %q, want one", bp.Status.Errors)
	}
	e := bp.Status.Errors[0]
	prefix := "blueprint/" + ns + "/hello:"
	if !strings.HasPrefix(e, prefix) || !strings.Contains(e, "spec.actions.backup.phases[1].func") || !strings.Contains(e, `"slumber"`) {
		t.Errorf("error = %q, want %s<line>:<col>: spec.actions.backup.phases[1].func: ... \"slumber\"", e, prefix)
	}
	var line, col int
	if _, err := fmt.Sscanf(strings.TrimPrefix(e, prefix), "%d:%d:", &line, &col); err != nil || line < 1 || col < 1 {
		t.Errorf("error %q has no line:col (%v)", e, err)
	}
	if as.Status.State != v1alpha1.ActionSetFailed || !strings.Contains(as.Status.Message, e) {
		t.Errorf("ActionSet %s: %q, want Failed with %q", as.Status.State, as.Status.Message, e)
	}
	if f := meta.FindStatusCondition(as.Status.Conditions, v1alpha1.ConditionFailed); f == nil || f.Status != metav1.ConditionTrue {
		t.Errorf("Failed condition = %+v, want True", f)
	}
	for _, p := range as.Status.Phases {
		if p.State != v1alpha1.PhasePending {
			t.Errorf("phase %s is %s; no phase may run", p.Name, p.State)
		}
	}
}

// TestControllerCancel cancels a long phase through spec.cancel: the
// ActionSet ends Cancelled and its finally phase still runs.
func TestControllerCancel(t *testing.T) {
	t.Parallel()
	c := startController(t)
	ns := namespace(t, "ctrl-cancel")
	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	long := strings.Replace(helloBlueprint, "duration: 200ms", "duration: 10m", 1)
	if err := c.Create(ctx, blueprint(t, ns, long)); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, actionSet(ns, "backup-long", "hello", "backup", "data")); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "backup-long"}
	waitActionSet(t, c, key, "in phase nap", func(as *v1alpha1.ActionSet) bool { return as.Status.CurrentPhase == "nap" })
	patch := []byte(`{"spec":{"cancel":true}}`)
	if err := c.Patch(ctx, &v1alpha1.ActionSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backup-long"}}, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	as := waitActionSet(t, c, key, "final", func(as *v1alpha1.ActionSet) bool { return as.Status.State.Final() })
	if as.Status.State != v1alpha1.ActionSetCancelled {
		t.Fatalf("state = %s (%s), want Cancelled", as.Status.State, as.Status.Message)
	}
	got := map[string]v1alpha1.PhaseState{}
	for _, p := range as.Status.Phases {
		got[p.Name] = p.State
	}
	want := map[string]v1alpha1.PhaseState{"greet": v1alpha1.PhaseSucceeded, "nap": v1alpha1.PhaseFailed, "check": v1alpha1.PhasePending, "bye": v1alpha1.PhaseSucceeded}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("phases (-got +want):\n%s", diff)
	}
	if f := meta.FindStatusCondition(as.Status.Conditions, v1alpha1.ConditionFailed); f == nil || f.Status != metav1.ConditionTrue || f.Reason != controller.ReasonCancelled {
		t.Errorf("Failed condition = %+v, want True, Cancelled", f)
	}
	// Deleting the finished ActionSet removes the finalizer.
	if err := c.Delete(ctx, as); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ActionSet deleted", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, key, &v1alpha1.ActionSet{})
		return gone(err), client.IgnoreNotFound(err)
	})
}
