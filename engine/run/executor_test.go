package run_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// These tests drive the executor with fake, in-memory functions (fakeStep,
// fakeBlock, fakeFlaky): they touch no cluster, so scheduling behaviour can
// be asserted exactly.

// calls records what the fake functions did, in order.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, s)
}

func (c *calls) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *calls) count(prefix string) int {
	n := 0
	for _, s := range c.get() {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

type fakeFn struct {
	sig function.Signature
	run func(ctx context.Context, rt *function.Runtime, args map[string]any) (map[string]any, error)
	rec *calls
}

func (f fakeFn) Signature() function.Signature { return f.sig }
func (f fakeFn) Invoke(ctx context.Context, rt *function.Runtime, args map[string]any) (map[string]any, error) {
	return f.run(ctx, rt, args)
}
func (f fakeFn) Release(_ context.Context, _ *function.Runtime, key string) error {
	f.rec.add("release " + key)
	if key == "panics" {
		panic("release of " + key + " broke")
	}
	return nil
}

// fakeRegistry has:
//   - fakeStep(name, cleanup?, fail?, hold?, cut?, advance?): records "run <name>",
//     steps the executor's fake clock by advance,
//     registers a cleanup (or a hold) keyed by name when cleanup (hold) is
//     true, releases the pending holds and records "cut <name>" when cut is
//     true, fails permanently when fail is true; output: echo (name).
//     panics when panic is true; its Release panics for the key "panics".
//   - fakeBlock(name): records, then blocks until its context ends.
//   - fakeFlaky(name, succeedOn): fails until the succeedOn-th call.
func fakeRegistry(t *testing.T, rec *calls) *function.Registry {
	t.Helper()
	str := func(args map[string]any, k string) string { s, _ := args[k].(string); return s }
	flaky := map[string]int{}
	var mu sync.Mutex
	reg, err := function.NewRegistry(
		fakeFn{rec: rec, sig: function.Signature{Name: "fakeStep", Doc: "fake step",
			Args: []function.Arg{
				{Name: "name", Type: cel.StringType, Required: true, Doc: "label"},
				{Name: "cleanup", Type: cel.BoolType, Default: false, Doc: "register a cleanup"},
				{Name: "fail", Type: cel.BoolType, Default: false, Doc: "fail permanently"},
				{Name: "hold", Type: cel.BoolType, Default: false, Doc: "register a hold keyed by name"},
				{Name: "cut", Type: cel.BoolType, Default: false, Doc: "release the pending holds"},
				{Name: "advance", Type: cel.DurationType, Default: "0s", Doc: "step the executor's fake clock by this much"},
				{Name: "panic", Type: cel.BoolType, Default: false, Doc: "panic after the rest"},
			},
			Outputs: []function.Output{{Name: "echo", Type: cel.StringType, Doc: "the name"}},
		}, run: func(ctx context.Context, rt *function.Runtime, args map[string]any) (map[string]any, error) {
			name := str(args, "name")
			rec.add("run " + name)
			if d, _ := args["advance"].(time.Duration); d > 0 {
				rt.Clock.(*clocktesting.FakeClock).Step(d)
			}
			if args["cleanup"] == true {
				if err := rt.Cleanup(ctx, name); err != nil {
					return nil, err
				}
			}
			if args["hold"] == true {
				if err := rt.Hold(ctx, name); err != nil {
					return nil, err
				}
			}
			if args["cut"] == true {
				if _, err := rt.ReleaseHolds(context.Background()); err != nil {
					return nil, err
				}
				rec.add("cut " + name)
			}
			if args["fail"] == true {
				return nil, function.Permanent(fmt.Errorf("%s broke", name))
			}
			if args["panic"] == true {
				panic(name + " panicked")
			}
			return map[string]any{"echo": name}, nil
		}},
		fakeFn{rec: rec, sig: function.Signature{Name: "fakeBlock", Doc: "fake blocking step",
			Args: []function.Arg{{Name: "name", Type: cel.StringType, Required: true, Doc: "label"}},
		}, run: func(ctx context.Context, rt *function.Runtime, args map[string]any) (map[string]any, error) {
			rec.add("run " + str(args, "name"))
			if err := rt.Cleanup(ctx, str(args, "name")); err != nil {
				return nil, err
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		fakeFn{rec: rec, sig: function.Signature{Name: "fakeFlaky", Doc: "fake flaky step",
			Args: []function.Arg{
				{Name: "name", Type: cel.StringType, Required: true, Doc: "label"},
				{Name: "succeedOn", Type: cel.IntType, Required: true, Doc: "attempt that succeeds"},
			},
		}, run: func(_ context.Context, _ *function.Runtime, args map[string]any) (map[string]any, error) {
			name := str(args, "name")
			rec.add("run " + name)
			mu.Lock()
			defer mu.Unlock()
			flaky[name]++
			if int64(flaky[name]) < args["succeedOn"].(int64) {
				return nil, fmt.Errorf("%s: transient failure %d", name, flaky[name])
			}
			return map[string]any{}, nil
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func compileYAML(t *testing.T, reg *function.Registry, spec string) *plan.Blueprint {
	t.Helper()
	c, err := compile.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	doc := "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nmetadata: {name: test}\nspec:\n" + spec
	p, ds := c.File("test.yaml", []byte(doc))
	if ds.HasErrors() {
		t.Fatalf("compile:\n%v", ds.Err())
	}
	return p
}

func inputs() run.Inputs {
	return run.Inputs{
		Workload: celenv.Workload{Kind: "Deployment", Name: "app", Namespace: "ns", Replicas: 1},
		Action:   celenv.Action{Name: "backup", ActionSet: "as1", UID: "uid-1", StartTime: time.Unix(0, 0)},
	}
}

func states(s run.State) []string {
	var out []string
	for _, p := range s.Phases {
		out = append(out, fmt.Sprintf("%s=%s", p.Name, p.State))
	}
	return out
}

func runAction(t *testing.T, ctx context.Context, e *run.Executor, bp *plan.Blueprint, resume *run.State) *run.Result {
	t.Helper()
	res, err := e.Run(ctx, run.Request{Blueprint: bp, Action: "backup", Inputs: inputs(), Resume: resume})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func TestRunFakeWhenSkipAndOutputs(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  params:
    freeze: {type: bool, default: false}
  actions:
    backup:
      phases:
      - {name: freeze, func: fakeStep, when: params.freeze, args: {name: freeze}}
      - {name: snap, func: fakeStep, args: {name: snap}}
      - {name: after, func: fakeStep, args: {name: "after-${{ phases.snap.echo }}"}}
      outputs:
        snapped: "${{ phases.snap.echo }}"
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	if res.Outcome != v1alpha1.ActionSetSucceeded || res.Err != nil {
		t.Fatalf("outcome %s, err %v", res.Outcome, res.Err)
	}
	if diff := cmp.Diff([]string{"run snap", "run after-snap"}, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"freeze=Skipped", "snap=Succeeded", "after=Succeeded"}, states(res.State)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"snapped": "snap"}, res.Artifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
}

func TestRunFakePhaseTimeout(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: stuck, func: fakeBlock, timeout: 50ms, args: {name: stuck}}
      - {name: never, func: fakeStep, args: {name: never}}
`)
	res := runUntilTimeout(t, &run.Executor{}, rec, bp, "run stuck", 50*time.Millisecond)
	if res.Outcome != v1alpha1.ActionSetFailed {
		t.Fatalf("outcome = %s, want Failed", res.Outcome)
	}
	if want := `phase "stuck" (fakeBlock) failed: phase timed out after 50ms`; !strings.Contains(res.Err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", res.Err, want)
	}
	if diff := cmp.Diff([]string{"run stuck", "release stuck"}, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"stuck=Failed", "never=Pending"}, states(res.State)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestRunFakeRetrySucceedsOnThirdAttempt(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - name: upload
        func: fakeFlaky
        retry: {attempts: 3, backoff: {initial: 1ms, max: 2ms}}
        args: {name: upload, succeedOn: 3}
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	if res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("outcome %s, err %v", res.Outcome, res.Err)
	}
	if got := rec.count("run upload"); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
	if got := res.State.Phases[0].Attempts; got != 3 {
		t.Errorf("attempts recorded = %d, want 3", got)
	}
}

func TestRunFakeRetryGivesUp(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - name: upload
        func: fakeFlaky
        retry: {attempts: 2, backoff: {initial: 1ms}}
        args: {name: upload, succeedOn: 5}
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	want := `phase "upload" (fakeFlaky) failed: after 2 attempts: upload: transient failure 2`
	if res.Outcome != v1alpha1.ActionSetFailed || res.Err == nil || res.Err.Error() != want {
		t.Fatalf("outcome %s, err %v; want Failed with %q", res.Outcome, res.Err, want)
	}
}

func TestRunFakeCleanupsLIFOAndFinallyOnFailure(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: a, func: fakeStep, args: {name: a, cleanup: true}}
      - {name: b, func: fakeStep, args: {name: b, cleanup: true}}
      - {name: c, func: fakeStep, args: {name: c, fail: true}}
      - {name: d, func: fakeStep, args: {name: d}}
      finally:
      - {name: f1, func: fakeStep, args: {name: f1, fail: true}}
      - {name: f2, func: fakeStep, args: {name: f2}}
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	if res.Outcome != v1alpha1.ActionSetFailed {
		t.Fatalf("outcome = %s", res.Outcome)
	}
	want := []string{"run a", "run b", "run c", "run f1", "run f2", "release b", "release a"}
	if diff := cmp.Diff(want, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	for _, msg := range []string{`phase "c" (fakeStep) failed: c broke`, `phase "f1" (fakeStep) failed: f1 broke`} {
		if !strings.Contains(res.Err.Error(), msg) {
			t.Errorf("err = %v, want it to contain %q", res.Err, msg)
		}
	}
	if len(res.State.Cleanups) != 0 {
		t.Errorf("pending cleanups = %v, want none", res.State.Cleanups)
	}
}

func TestRunFakeCancelRunsCleanupsAndFinally(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: a, func: fakeStep, args: {name: a, cleanup: true}}
      - {name: wait, func: fakeBlock, args: {name: wait}}
      - {name: never, func: fakeStep, args: {name: never}}
      finally:
      - {name: fin, func: fakeStep, args: {name: fin}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *run.Result)
	go func() { done <- runAction(t, ctx, &run.Executor{}, bp, nil) }()
	waitFor(t, func() bool { return rec.count("run wait") == 1 })
	cancel()
	res := <-done
	if res.Outcome != v1alpha1.ActionSetCancelled {
		t.Fatalf("outcome = %s, err %v", res.Outcome, res.Err)
	}
	want := []string{"run a", "run wait", "run fin", "release wait", "release a"}
	if diff := cmp.Diff(want, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRunFakeActionTimeoutFails(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      timeout: 50ms
      phases:
      - {name: wait, func: fakeBlock, args: {name: wait}}
`)
	res := runUntilTimeout(t, &run.Executor{}, rec, bp, "run wait", 50*time.Millisecond)
	if res.Outcome != v1alpha1.ActionSetFailed || !strings.Contains(res.Err.Error(), "action timed out after 50ms") {
		t.Fatalf("outcome %s, err %v; want Failed with the action timeout", res.Outcome, res.Err)
	}
}

// runUntilTimeout runs bp's backup on a fake clock and, once the blocking
// phase has recorded started, steps the clock to just before timeout (the
// run must still be going) and then to it (the run must end).
// e's Clock is replaced by the fake one.
func runUntilTimeout(t *testing.T, e *run.Executor, rec *calls, bp *plan.Blueprint, started string, timeout time.Duration) *run.Result {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	e.Clock = clk
	done := make(chan *run.Result, 1)
	go func() {
		res, err := e.Run(context.Background(), run.Request{Blueprint: bp, Action: "backup", Inputs: inputs()})
		if err != nil {
			res = &run.Result{Err: err}
		}
		done <- res
	}()
	waitFor(t, func() bool { return slices.Contains(rec.get(), started) && clk.HasWaiters() })
	clk.Step(timeout - time.Millisecond)
	select {
	case res := <-done:
		t.Fatalf("run ended %s before its timeout: %v", clk.Since(time.Unix(0, 0)), res.Err)
	default: // a fake timer fires only inside Step, so nothing can end the run now
	}
	clk.Step(time.Millisecond)
	return <-done
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("condition not met: %v", err)
	}
}

func TestRunFakePanicFailsThePhaseNotTheProcess(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: panics, func: fakeStep, args: {name: panics, cleanup: true}}
      - {name: boom, func: fakeStep, args: {name: boom, panic: true}}
      - {name: never, func: fakeStep, args: {name: never}}
`)
	res := runAction(t, context.Background(), &run.Executor{}, bp, nil)
	if res.Outcome != v1alpha1.ActionSetFailed {
		t.Fatalf("outcome = %s, want Failed", res.Outcome)
	}
	for _, want := range []string{
		`phase "boom" (fakeStep) failed: function fakeStep panicked: boom panicked`,
		`release of function fakeStep panicked: release of panics broke`,
	} {
		if !strings.Contains(res.Err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", res.Err, want)
		}
	}
	if diff := cmp.Diff([]string{"run panics", "run boom", "release panics"}, rec.get()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"panics=Succeeded", "boom=Failed", "never=Pending"}, states(res.State)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestRunFakeDefaultActionTimeout(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: wait, func: fakeBlock, args: {name: wait}}
`)
	res := runUntilTimeout(t, &run.Executor{ActionTimeout: time.Hour}, rec, bp, "run wait", time.Hour)
	if res == nil || res.Outcome != v1alpha1.ActionSetFailed || !strings.Contains(res.Err.Error(), "action timed out after 1h0m0s") {
		t.Fatalf("result %+v; want Failed after the executor's default action timeout", res)
	}
}

// A cleanup is in a checkpoint before the function goes on to make what it
// undoes: a crash right after registering loses nothing.
func TestRunFakeCleanupCheckpointedWhenRegistered(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: clone, func: fakeStep, args: {name: clone, cleanup: true}}
`)
	var whileRunning []string
	e := &run.Executor{Checkpoint: func(_ context.Context, s run.State) error {
		if s.Phases[0].State == v1alpha1.PhaseRunning {
			for _, c := range s.Cleanups {
				whileRunning = append(whileRunning, c.Key)
			}
		}
		return nil
	}}
	if res := runAction(t, context.Background(), e, bp, nil); res.Outcome != v1alpha1.ActionSetSucceeded {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if diff := cmp.Diff([]string{"clone"}, whileRunning); diff != "" {
		t.Errorf("cleanups checkpointed while the phase ran (-want +got):\n%s", diff)
	}
}

// A cleanup that cannot be recorded fails the phase before its side effect.
func TestRunFakeCleanupNotRecordedFailsThePhase(t *testing.T) {
	rec := &calls{}
	bp := compileYAML(t, fakeRegistry(t, rec), `
  actions:
    backup:
      phases:
      - {name: clone, func: fakeStep, args: {name: clone, cleanup: true}}
`)
	e := &run.Executor{Checkpoint: func(_ context.Context, s run.State) error {
		if len(s.Cleanups) > 0 && s.Phases[0].State == v1alpha1.PhaseRunning {
			return errors.New("status write refused")
		}
		return nil
	}}
	res := runAction(t, context.Background(), e, bp, nil)
	if res.Outcome != v1alpha1.ActionSetFailed || !strings.Contains(res.Err.Error(), "checkpoint: status write refused") {
		t.Fatalf("outcome %s, err %v; want Failed because the cleanup was not recorded", res.Outcome, res.Err)
	}
}
