package run_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// TestRunFakeHoldReleasedAtCut: a hold is released when a later phase
// cuts, before the phases after it, and only once; ordinary cleanups wait
// for the end.
func TestRunFakeHoldReleasedAtCut(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: freeze, func: fakeStep, args: {name: freeze, hold: true}}
      - {name: clone, func: fakeStep, args: {name: clone, cleanup: true, advance: 7s}}
      - {name: snap, func: fakeStep, args: {name: snap, cut: true}}
      - {name: after, func: fakeStep, args: {name: after, advance: 1h}}
`)
	var held []time.Duration
	e := &run.Executor{Clock: clocktesting.NewFakeClock(time.Unix(0, 0)), HoldReleased: func(d time.Duration) { held = append(held, d) }}
	res := runAction(t, context.Background(), e, bp, nil)
	if res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	want := []string{"run freeze", "run clone", "run snap", "release freeze", "cut snap", "run after", "release clone"}
	if diff := cmp.Diff(want, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// The clock moved 7s between the freeze and the cut, and 1h after it.
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, held); diff != "" {
		t.Errorf("hold times (-want +got):\n%s", diff)
	}
}

// TestRunFakeHoldReleasedBeforeFinally: when a phase fails while a hold is
// pending, the hold is released before any finally phase runs.
func TestRunFakeHoldReleasedBeforeFinally(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: freeze, func: fakeStep, args: {name: freeze, hold: true}}
      - {name: snap, func: fakeStep, args: {name: snap, fail: true}}
      finally:
      - {name: report, func: fakeStep, args: {name: report}}
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	if res.Outcome != v1alpha1.ActionSetFailed {
		t.Fatalf("outcome %s, want Failed", res.Outcome)
	}
	want := []string{"run freeze", "run snap", "release freeze", "run report"}
	if diff := cmp.Diff(want, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(res.State.Cleanups) != 0 {
		t.Errorf("pending cleanups %v, want none", res.State.Cleanups)
	}
}

// TestRunFakeInterruptedLeavesTheRunToResume: when the controller stops
// (the context ends with function.ErrInterrupted) the run releases its
// hold but runs no cleanup and no finally phase, and stays Running with
// the cleanups pending, for the next controller to resume.
func TestRunFakeInterruptedLeavesTheRunToResume(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: freeze, func: fakeStep, args: {name: freeze, hold: true}}
      - {name: clone, func: fakeStep, args: {name: clone, cleanup: true}}
      - {name: wait, func: fakeBlock, args: {name: wait}}
      finally:
      - {name: fin, func: fakeStep, args: {name: fin}}
`)
	ctx, stop := context.WithCancelCause(context.Background())
	done := make(chan *run.Result)
	go func() { done <- runAction(t, ctx, &run.Executor{}, bp, nil) }()
	waitFor(t, func() bool { return rec.count("run wait") == 1 })
	stop(function.ErrInterrupted)
	res := <-done
	if res.Outcome != v1alpha1.ActionSetRunning {
		t.Fatalf("outcome = %s, err %v; want Running", res.Outcome, res.Err)
	}
	want := []string{"run freeze", "run clone", "run wait", "release freeze"}
	if diff := cmp.Diff(want, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	var pending []string
	for _, c := range res.State.Cleanups {
		pending = append(pending, c.Key)
	}
	if diff := cmp.Diff([]string{"clone", "wait"}, pending); diff != "" {
		t.Errorf("pending cleanups (-want +got):\n%s", diff)
	}
}
