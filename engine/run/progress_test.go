package run_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// TestRunFakeProgressAndCheckpoints checks that a fake function's progress
// becomes the action's (each of the two phases an equal share), and that a
// checkpoint follows every phase change.
func TestRunFakeProgressAndCheckpoints(t *testing.T) {
	reg, err := function.NewRegistry(fakeFn{rec: &calls{}, sig: function.Signature{Name: "fakeCopy", Doc: "fake copy",
		Args: []function.Arg{{Name: "bytes", Type: cel.IntType, Required: true, Doc: "size"}},
	}, run: func(_ context.Context, rt *function.Runtime, args map[string]any) (map[string]any, error) {
		total := args["bytes"].(int64)
		rt.Progress.Report(v1alpha1.Progress{Percent: 50, BytesDone: total / 2, BytesTotal: total})
		return map[string]any{}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	bp := compileYAML(t, reg, `
  actions:
    backup:
      phases:
      - {name: one, func: fakeCopy, args: {bytes: 100}}
      - {name: two, func: fakeCopy, args: {bytes: 200}}
`)
	var mu sync.Mutex
	var progress []v1alpha1.Progress
	var phaseStates [][]string
	e := &run.Executor{
		Progress: func(p v1alpha1.Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() },
		Checkpoint: func(_ context.Context, s run.State) error {
			phaseStates = append(phaseStates, states(s))
			return nil
		},
	}
	if res := runAction(t, context.Background(), e, bp, nil); res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("%s: %v", res.Outcome, res.Err)
	}
	wantProgress := []v1alpha1.Progress{
		{Percent: 25, BytesDone: 50, BytesTotal: 100},
		{Percent: 50},
		{Percent: 75, BytesDone: 100, BytesTotal: 200},
		{Percent: 100},
	}
	if diff := cmp.Diff(wantProgress, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	wantStates := [][]string{
		{"one=Running", "two=Pending"},
		{"one=Succeeded", "two=Pending"},
		{"one=Succeeded", "two=Running"},
		{"one=Succeeded", "two=Succeeded"},
	}
	if diff := cmp.Diff(wantStates, phaseStates); diff != "" {
		t.Errorf("checkpoints (-want +got):\n%s", diff)
	}
}
