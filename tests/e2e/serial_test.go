//go:build e2e

package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const gateBlueprint = `
metadata: {name: gated}
spec:
  actions:
    backup:
      phases:
      - name: gate
        func: wait
        args: {apiVersion: v1, kind: ConfigMap, namespace: "${{ workload.namespace }}", name: go, condition: "object.data.go == 'yes'", timeout: 5m}
`

// TestRunsOnOneWorkloadTakeTurns starts two ActionSets against one claim:
// the second waits, saying for whom, until the first has finished.
func TestRunsOnOneWorkloadTakeTurns(t *testing.T) {
	t.Parallel()
	c := startController(t)
	ns := namespace(t, "ctrl-serial")
	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, blueprint(t, ns, gateBlueprint)); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, actionSet(ns, "first", "gated", "backup", "data")); err != nil {
		t.Fatal(err)
	}
	waitActionSet(t, c, client.ObjectKey{Namespace: ns, Name: "first"}, "in phase gate", func(as *v1alpha1.ActionSet) bool {
		return as.Status.CurrentPhase == "gate"
	})
	if err := c.Create(ctx, actionSet(ns, "second", "gated", "backup", "data")); err != nil {
		t.Fatal(err)
	}
	waiting := waitActionSet(t, c, client.ObjectKey{Namespace: ns, Name: "second"}, "waiting for first", func(as *v1alpha1.ActionSet) bool {
		return strings.Contains(as.Status.Message, "waiting for ActionSet ctrl-serial/first, which runs against PersistentVolumeClaim ctrl-serial/data")
	})
	if len(waiting.Status.Phases) != 0 && waiting.Status.Phases[0].StartTime != nil {
		t.Errorf("second started phase %s while first held the claim", waiting.Status.Phases[0].Name)
	}
	if _, err := env.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "go"}, Data: map[string]string{"go": "yes"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first, second := finished(t, c, ns, "first"), finished(t, c, ns, "second")
	mustSucceed(t, first)
	mustSucceed(t, second)
	// The times the controller recorded: second's phase began after first ended.
	if start := second.Status.Phases[0].StartTime; start.Before(first.Status.CompletionTime) {
		t.Errorf("second's gate started at %s, before first completed at %s", start, first.Status.CompletionTime)
	}
	if second.Status.Message != "" && strings.Contains(second.Status.Message, "waiting") {
		t.Errorf("second's message still says %q", second.Status.Message)
	}
}
