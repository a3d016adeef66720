package run_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const resumeSpec = `
  actions:
    backup:
      phases:
      - {name: a, func: fakeStep, args: {name: a, cleanup: true}}
      - {name: b, func: fakeStep, args: {name: b}}
      - {name: c, func: fakeStep, args: {name: "c-after-${{ phases.a.echo }}"}}
      - {name: d, func: fakeStep, args: {name: d}}
      outputs:
        first: "${{ phases.a.echo }}"
`

// TestRunFakeResumeSkipsFinishedPhases takes the checkpoint written while
// phase c was running, as a controller that crashed there would have left
// it, and resumes from it: a and b are not run again, their outputs and
// pending cleanups are restored.
func TestRunFakeResumeSkipsFinishedPhases(t *testing.T) {
	first := &calls{}
	bp := compileYAML(t, fakeRegistry(t, first), resumeSpec)
	var checkpoints []run.State
	e := &run.Executor{Checkpoint: func(_ context.Context, s run.State) error {
		checkpoints = append(checkpoints, s)
		return nil
	}}
	if res := runAction(t, context.Background(), e, bp, nil); res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("first run: %s %v", res.Outcome, res.Err)
	}
	var crash *run.State
	for i := range checkpoints {
		if checkpoints[i].Phases[2].State == v1alpha1.PhaseRunning {
			crash = &checkpoints[i]
			break
		}
	}
	if crash == nil {
		t.Fatal("no checkpoint with phase c running")
	}
	if got := len(crash.Cleanups); got != 1 {
		t.Fatalf("checkpoint cleanups = %d, want 1", got)
	}

	second := &calls{}
	bp = compileYAML(t, fakeRegistry(t, second), resumeSpec)
	res := runAction(t, context.Background(), &run.Executor{}, bp, crash)
	if res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("resumed run: %s %v", res.Outcome, res.Err)
	}
	if diff := cmp.Diff([]string{"run c-after-a", "run d", "release a"}, second.get()); diff != "" {
		t.Errorf("resumed calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"first": "a"}, res.Artifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if got := res.State.Phases[2].Attempts; got != 2 {
		t.Errorf("phase c attempts = %d, want 2 (one interrupted, one resumed)", got)
	}
}

func TestRunFakeResumeRejectsOtherAction(t *testing.T) {
	bp := compileYAML(t, fakeRegistry(t, &calls{}), resumeSpec)
	stale := run.State{Phases: []v1alpha1.PhaseStatus{{Name: "x", Stage: v1alpha1.PhaseStageMain}}}
	_, err := (&run.Executor{}).Run(context.Background(), run.Request{Blueprint: bp, Action: "backup", Inputs: inputs(), Resume: &stale})
	if err == nil || !strings.Contains(err.Error(), "checkpoint has 1 phases, action \"backup\" has 4") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunFakeCostLimitAtRunTime(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - name: big
        func: fakeStep
        args: {name: "${{ string(size(object.items.map(i, [i, i]))) }}"}
`)
	in := inputs()
	items := make([]any, 400_000)
	for i := range items {
		items[i] = int64(i)
	}
	in.Object = map[string]any{"items": items}
	res, err := (&run.Executor{}).Run(context.Background(), run.Request{Blueprint: bp, Action: "backup", Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	want := `phase "big" (fakeStep) failed: arg name: ${{ string(size(object.items.map(i, [i, i]))) }}: expression exceeded its cost limit of 1000000`
	if res.Outcome != v1alpha1.ActionSetFailed || res.Err == nil || !strings.HasPrefix(res.Err.Error(), want) {
		t.Fatalf("outcome %s, err %v; want Failed starting with %q", res.Outcome, res.Err, want)
	}
	if len(rec.get()) != 0 {
		t.Errorf("the function ran: %v", rec.get())
	}
}

func TestRunFakeParamsChecked(t *testing.T) {
	bp := compileYAML(t, fakeRegistry(t, &calls{}), `
  params:
    count: {type: int}
    tags: {type: list(string), default: []}
  actions:
    backup:
      phases:
      - {name: a, func: fakeStep, args: {name: "${{ string(params.count) }}"}}
`)
	in := inputs()
	in.Params = map[string]any{"tags": "x", "cuont": 1}
	_, err := (&run.Executor{}).Run(context.Background(), run.Request{Blueprint: bp, Action: "backup", Inputs: in})
	want := "params: param \"count\" (int) is required: the blueprint gives no default\n" +
		"param \"tags\": must be list(string), got string \"x\"\n" +
		"unknown param \"cuont\" (did you mean \"count\"?)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// TestRunFakeResumeWithAHoldRequiesces resumes a run that stopped while its
// app was held: the hold may have lapsed, so it is released and the run
// goes again from the phase that took it, instead of snapshotting as if
// the app were still held.
func TestRunFakeResumeWithAHoldRequiesces(t *testing.T) {
	const spec = `
  actions:
    backup:
      phases:
      - {name: prep, func: fakeStep, args: {name: prep}}
      - {name: freeze, func: fakeStep, args: {name: freeze, hold: true}}
      - {name: gate, func: fakeStep, args: {name: gate}}
      - {name: snap, func: fakeStep, args: {name: snap, cut: true}}
`
	first := &calls{}
	var checkpoints []run.State
	e := &run.Executor{Checkpoint: func(_ context.Context, s run.State) error {
		checkpoints = append(checkpoints, s)
		return nil
	}}
	if res := runAction(t, context.Background(), e, compileYAML(t, fakeRegistry(t, first), spec), nil); res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("first run: %s %v", res.Outcome, res.Err)
	}
	var crash *run.State
	for i := range checkpoints {
		if checkpoints[i].Phases[3].State == v1alpha1.PhaseRunning {
			c := checkpoints[i].DeepCopy()
			crash = &c
			break
		}
	}
	if crash == nil || len(crash.Cleanups) != 1 || !crash.Cleanups[0].Hold {
		t.Fatalf("no checkpoint with snap running and the freeze held: %+v", crash)
	}
	// Cancelled meanwhile, the resumed run only releases the hold.
	cancelled := &calls{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := runAction(t, ctx, &run.Executor{}, compileYAML(t, fakeRegistry(t, cancelled), spec), crash)
	if res.Outcome != v1alpha1.ActionSetCancelled {
		t.Errorf("cancelled resume: %s %v, want Cancelled", res.Outcome, res.Err)
	}
	if diff := cmp.Diff([]string{"release freeze"}, cancelled.get()); diff != "" {
		t.Errorf("cancelled resume calls (-want +got):\n%s", diff)
	}

	second := &calls{}
	res = runAction(t, context.Background(), &run.Executor{}, compileYAML(t, fakeRegistry(t, second), spec), crash)
	if res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("resumed run: %s %v", res.Outcome, res.Err)
	}
	want := []string{"release freeze", "run freeze", "run gate", "run snap", "release freeze", "cut snap"}
	if diff := cmp.Diff(want, second.get()); diff != "" {
		t.Errorf("resumed calls (-want +got):\n%s", diff)
	}
	if got := res.State.Phases[0].Attempts; got != 1 {
		t.Errorf("prep ran %d times, want once: it came before the hold", got)
	}
}
