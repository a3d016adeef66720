package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// runPhase runs phase p, recorded at index idx: when, args, attempts with
// backoff, outputs. It returns an error naming the phase when it fails.
func (r *runner) runPhase(ctx context.Context, idx int, p *plan.Phase) error {
	if err := context.Cause(ctx); ctx.Err() != nil {
		return r.fail(ctx, idx, p, fmt.Errorf("not started: %w", err))
	}
	vars := r.in.vars(r.params, r.phases)
	if p.When != nil {
		run, err := p.When.Eval(ctx, vars)
		if err != nil {
			return r.fail(ctx, idx, p, fmt.Errorf("when: %w", err))
		}
		if run != true {
			r.t.update(idx, func(rec *v1alpha1.PhaseStatus) {
				rec.State, rec.Message = v1alpha1.PhaseSkipped, "when is false"
			})
			return r.checkpoint(ctx)
		}
	}
	args, err := r.args(ctx, p, vars)
	if err != nil {
		return r.fail(ctx, idx, p, err)
	}
	outputs, err := r.attempts(ctx, idx, p, args)
	if err != nil {
		return r.fail(ctx, idx, p, err)
	}
	status, err := encodeOutputs(p, outputs)
	if err != nil {
		return r.fail(ctx, idx, p, err)
	}
	r.phases[p.Name] = outputs
	now := r.t.now()
	r.t.update(idx, func(rec *v1alpha1.PhaseStatus) {
		rec.State, rec.EndTime, rec.Outputs = v1alpha1.PhaseSucceeded, &now, status
	})
	r.reportProgress(idx+1, v1alpha1.Progress{})
	return r.checkpoint(ctx)
}

// fail records the failure and returns it, wrapped with the phase name.
func (r *runner) fail(ctx context.Context, idx int, p *plan.Phase, err error) error {
	now := r.t.now()
	r.t.update(idx, func(rec *v1alpha1.PhaseStatus) {
		rec.State, rec.EndTime, rec.Message = v1alpha1.PhaseFailed, &now, err.Error()
	})
	err = fmt.Errorf("phase %q (%s) failed: %w", p.Name, p.Func.Signature().Name, err)
	if cerr := r.checkpoint(context.WithoutCancel(ctx)); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// args evaluates the phase's arguments and checks each against its declared
// type; dyn expressions are only checkable now.
func (r *runner) args(ctx context.Context, p *plan.Phase, vars map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(p.Args))
	for _, a := range p.Args {
		v, err := a.Value.Eval(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("arg %s: %w", a.Name, err)
		}
		if out[a.Name], err = celenv.Conform(v, a.Type, r.bp.Objects); err != nil {
			return nil, fmt.Errorf("arg %s: %w", a.Name, err)
		}
	}
	return out, nil
}

// attempts invokes the function up to the retry policy's attempts, waiting
// the backoff between them. Permanent errors and cancellation stop early.
func (r *runner) attempts(ctx context.Context, idx int, p *plan.Phase, args map[string]any) (map[string]any, error) {
	backoff := p.Retry.Backoff
	clk := r.e.clock()
	var last error
	for attempt := 1; attempt <= p.Retry.Attempts; attempt++ {
		start := r.t.now()
		r.t.update(idx, func(rec *v1alpha1.PhaseStatus) {
			rec.State, rec.Attempts, rec.Message = v1alpha1.PhaseRunning, rec.Attempts+1, ""
			if rec.StartTime == nil {
				rec.StartTime = &start
			}
		})
		if err := r.checkpoint(ctx); err != nil {
			return nil, err
		}
		outputs, err := r.invoke(ctx, idx, p, args)
		if err == nil {
			return outputs, nil
		}
		last = err
		if function.IsPermanent(err) || ctx.Err() != nil || attempt == p.Retry.Attempts {
			break
		}
		wait := backoff.Step()
		r.t.update(idx, func(rec *v1alpha1.PhaseStatus) {
			rec.Message = fmt.Sprintf("attempt %d failed, retrying in %s: %v", attempt, wait.Round(1e6), err)
		})
		select {
		case <-clk.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (while waiting to retry after: %v)", context.Cause(ctx), err)
		}
	}
	if p.Retry.Attempts > 1 {
		return nil, fmt.Errorf("after %d attempts: %w", r.t.record(idx).Attempts, last)
	}
	return nil, last
}

// invoke runs one attempt within the phase timeout and conforms the outputs
// to their declared types.
func (r *runner) invoke(ctx context.Context, idx int, p *plan.Phase, args map[string]any) (map[string]any, error) {
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withTimeoutCause(ctx, r.e.clock(), p.Timeout, fmt.Errorf("phase timed out after %s", p.Timeout))
		defer cancel()
	}
	var outputs map[string]any
	err := guard(ctx, fmt.Sprintf("function %s", p.Func.Signature().Name), func() (err error) {
		outputs, err = p.Func.Invoke(ctx, r.runtime(idx, p), args)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		return nil, err
	}
	return r.conformOutputs(p, outputs)
}

func (r *runner) conformOutputs(p *plan.Phase, outputs map[string]any) (map[string]any, error) {
	sig := p.Func.Signature()
	out := make(map[string]any, len(outputs))
	for name, v := range outputs {
		o, ok := sig.Output(name)
		if !ok {
			return nil, function.Permanent(fmt.Errorf("returned undeclared output %q", name))
		}
		c, err := celenv.Conform(v, o.Type, r.bp.Objects)
		if err != nil {
			return nil, function.Permanent(fmt.Errorf("output %s: %w", name, err))
		}
		out[name] = c
	}
	return out, nil
}

// restoreOutputs reloads the outputs of phases a resumed run will not repeat.
func (r *runner) restoreOutputs() error {
	for i, p := range r.action.AllPhases() {
		rec := r.t.record(i)
		if rec.State != v1alpha1.PhaseSucceeded {
			continue
		}
		outputs := make(map[string]any, len(rec.Outputs))
		for name, raw := range rec.Outputs {
			v, err := celenv.FromJSON(raw.Raw)
			if err != nil {
				return fmt.Errorf("phase %q output %q: %w", p.Name, name, err)
			}
			outputs[name] = v
		}
		c, err := r.conformOutputs(p, outputs)
		if err != nil {
			return fmt.Errorf("phase %q: %w", p.Name, err)
		}
		r.phases[p.Name] = c
	}
	return nil
}
