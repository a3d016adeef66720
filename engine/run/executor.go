package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// DefaultActionTimeout bounds an action whose blueprint sets no timeout,
// so that a hung exec or a pod that never schedules cannot hold a run slot
// forever; a day leaves room for exporting terabytes.
const DefaultActionTimeout = 24 * time.Hour

// DefaultWrapUpTimeout bounds the finally phases and cleanups of a run whose
// context was cancelled or timed out: long enough to unfreeze an app and
// delete temporary claims, short enough that a cancel completes.
const DefaultWrapUpTimeout = 10 * time.Minute

// Executor runs compiled actions. Its fields are the injected collaborators;
// the zero value of each optional one is a no-op.
type Executor struct {
	Clock clock.WithTicker
	// Checkpoint persists the run's state; it is called whenever a phase
	// starts or ends and after each cleanup. An error fails the run, since
	// a run that cannot record its progress cannot be resumed safely.
	Checkpoint func(ctx context.Context, s State) error
	// Progress receives the action's overall progress.
	Progress func(v1alpha1.Progress)
	// WrapUpTimeout bounds finally phases and cleanups after a cancel.
	WrapUpTimeout time.Duration
	// ActionTimeout bounds an action whose blueprint sets no timeout; zero
	// means DefaultActionTimeout.
	ActionTimeout time.Duration
	// Clients are passed to every function; zero in tests of the engine.
	Clients function.Clients
	// HoldReleased observes how long each hold (a freeze) was held.
	HoldReleased func(held time.Duration)
}

// Request says what to run.
type Request struct {
	Blueprint *plan.Blueprint
	Action    string
	Inputs    Inputs
	// Resume is the checkpoint of an interrupted run of the same action and
	// ActionSet; nil starts afresh.
	Resume *State
}

// Result is the outcome of a run.
type Result struct {
	Outcome   v1alpha1.ActionSetState // Succeeded, Failed or Cancelled
	Artifacts map[string]any          // the action's outputs; nil unless Succeeded
	State     State
	// Err says which phase failed and why (or what else went wrong); nil
	// when the run succeeded.
	Err error
}

// Run executes one action. It returns an error only when the request itself
// is unusable (unknown action, bad params, a checkpoint of another action);
// everything that happens while running is reported in the Result.
func (e *Executor) Run(ctx context.Context, req Request) (*Result, error) {
	a, ok := req.Blueprint.Action(req.Action)
	if !ok {
		return nil, fmt.Errorf("blueprint %q has no action %q", req.Blueprint.Name, req.Action)
	}
	params, err := BindParams(req.Blueprint, req.Inputs.Params)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	state := newState(a)
	if req.Resume != nil {
		if err := checkResume(a, *req.Resume); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		state = req.Resume.DeepCopy()
	}
	r := &runner{
		e: e, bp: req.Blueprint, action: a, in: req.Inputs, params: params,
		t:      &tracker{state: state, now: func() metav1.Time { return metav1.NewTime(e.clock().Now()) }},
		phases: map[string]any{},
	}
	if err := r.restoreOutputs(); err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	r.heldFrom = -1
	if from, held := heldFrom(a, state); held && req.Resume != nil {
		r.heldFrom = from
	}
	return r.run(ctx), nil
}

func (e *Executor) clock() clock.WithTicker {
	if e.Clock == nil {
		return clock.RealClock{}
	}
	return e.Clock
}

func (e *Executor) actionTimeout() time.Duration {
	if e.ActionTimeout <= 0 {
		return DefaultActionTimeout
	}
	return e.ActionTimeout
}

func (e *Executor) wrapUpTimeout() time.Duration {
	if e.WrapUpTimeout <= 0 {
		return DefaultWrapUpTimeout
	}
	return e.WrapUpTimeout
}

// errActionTimeout is the cause of an action's context ending at its timeout.
var errActionTimeout = errors.New("action timed out")

// runner is one run of one action.
type runner struct {
	e      *Executor
	bp     *plan.Blueprint
	action *plan.Action
	in     Inputs
	params map[string]any
	t      *tracker
	phases map[string]any // outputs of finished phases, for phases.X.Y
	// heldFrom is the first main phase to run again because a resumed
	// checkpoint held the app (see requiesce); -1 for none.
	heldFrom int
}

// mainPhases runs the main phases, first taking again a hold a resumed
// run found pending. Cancelled, it skips that: the wrap-up releases holds.
func (r *runner) mainPhases(ctx context.Context) error {
	if r.heldFrom >= 0 && ctx.Err() == nil {
		if err := r.requiesce(ctx, r.heldFrom); err != nil {
			return err
		}
	}
	return r.runPhases(ctx, r.action.Phases, 0)
}

func (r *runner) run(ctx context.Context) *Result {
	actx, cancel := r.actionContext(ctx)
	defer cancel()
	res := &Result{Outcome: v1alpha1.ActionSetSucceeded}
	if err := r.mainPhases(actx); err != nil {
		res.Outcome, res.Err = v1alpha1.ActionSetFailed, err
		if ctx.Err() != nil && !errors.Is(context.Cause(actx), errActionTimeout) {
			res.Outcome, res.Err = v1alpha1.ActionSetCancelled, fmt.Errorf("cancelled: %w", err)
		}
	} else if r.action.Outputs != nil {
		out, err := r.action.Outputs.Eval(actx, r.in.vars(r.params, r.phases))
		if err != nil {
			res.Outcome, res.Err = v1alpha1.ActionSetFailed, fmt.Errorf("action outputs: %w", err)
		} else {
			res.Artifacts = out.(map[string]any)
		}
	}
	// Finally phases and cleanups run even when ctx is cancelled, within
	// their own bound.
	wctx, wcancel := withTimeoutCause(context.WithoutCancel(ctx), r.e.clock(), r.e.wrapUpTimeout(),
		fmt.Errorf("wrap-up timed out after %s", r.e.wrapUpTimeout()))
	defer wcancel()
	// Nothing may stay frozen while finally phases run.
	if _, err := r.releaseHolds(wctx); err != nil {
		res.wrapUpFailed(err)
	}
	if function.Interrupted(ctx) {
		return r.interrupted(ctx, res)
	}
	if err := r.runPhases(wctx, r.action.Finally, len(r.action.Phases)); err != nil {
		res.wrapUpFailed(err)
	}
	if err := r.releaseAll(wctx); err != nil {
		res.wrapUpFailed(err)
	}
	if res.Outcome != v1alpha1.ActionSetSucceeded {
		res.Artifacts = nil
	}
	res.State = r.t.snapshot()
	return res
}

// interrupted ends a run whose controller is stopping: it stays Running,
// with its cleanups and finally phases left for the next controller, which
// resumes it. Its holds were released (the resumed run takes them again).
func (r *runner) interrupted(ctx context.Context, res *Result) *Result {
	res.Outcome, res.Err, res.Artifacts = v1alpha1.ActionSetRunning, context.Cause(ctx), nil
	res.State = r.t.snapshot()
	return res
}

// wrapUpFailed records an error of the wrap-up (holds, finally phases,
// cleanups): it fails a run that had succeeded and adds to any other error.
func (res *Result) wrapUpFailed(err error) {
	res.Err = errors.Join(res.Err, err)
	if res.Outcome == v1alpha1.ActionSetSucceeded {
		res.Outcome = v1alpha1.ActionSetFailed
	}
}

func (r *runner) actionContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := r.action.Timeout
	if timeout <= 0 {
		timeout = r.e.actionTimeout()
	}
	return withTimeoutCause(ctx, r.e.clock(), timeout, fmt.Errorf("%w after %s", errActionTimeout, timeout))
}

// runPhases runs phases in order. Main phases stop at the first failure;
// finally phases all run, and their errors are joined.
func (r *runner) runPhases(ctx context.Context, phases []*plan.Phase, offset int) error {
	var errs []error
	for i, p := range phases {
		idx := offset + i
		if done(r.t.record(idx)) {
			continue // finished before a resume
		}
		err := r.runPhase(ctx, idx, p)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		if p.Stage == v1alpha1.PhaseStageMain {
			break
		}
	}
	return errors.Join(errs...)
}

func (r *runner) checkpoint(ctx context.Context) error {
	if r.e.Checkpoint == nil {
		return nil
	}
	if err := r.e.Checkpoint(ctx, r.t.snapshot()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
