package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// runtime is what the function of phase p (at index idx) gets.
func (r *runner) runtime(idx int, p *plan.Phase) *function.Runtime {
	return &function.Runtime{
		Names:    function.NewNames(r.in.Action.ActionSet, r.in.Action.UID, p.Name),
		Progress: progressFunc(func(pr v1alpha1.Progress) { r.reportProgress(idx, pr) }),
		Cleanup: func(ctx context.Context, key string) error {
			r.t.addCleanup(v1alpha1.CleanupRecord{Phase: p.Name, Func: p.Func.Signature().Name, Key: key})
			return r.checkpoint(ctx)
		},
		Message: func(msg string) {
			r.t.update(idx, func(rec *v1alpha1.PhaseStatus) { rec.Message = msg })
		},
		Clock:    r.e.clock(),
		Clients:  r.e.Clients,
		Action:   r.in.Action,
		Target:   r.in.Target,
		Location: r.in.ResolvedLocation,
		Hold: func(ctx context.Context, key string) error {
			since := metav1.NewTime(r.e.clock().Now())
			r.t.addCleanup(v1alpha1.CleanupRecord{Phase: p.Name, Func: p.Func.Signature().Name, Key: key, Hold: true, Since: &since})
			return r.checkpoint(ctx)
		},
		ReleaseHolds: r.releaseHolds,
	}
}

type progressFunc func(v1alpha1.Progress)

func (f progressFunc) Report(p v1alpha1.Progress) { f(p) }

// reportProgress turns a phase's progress into the action's: each main
// phase is an equal share, and bytes are the current phase's.
func (r *runner) reportProgress(phaseIdx int, p v1alpha1.Progress) {
	if r.e.Progress == nil {
		return
	}
	n := int32(max(len(r.action.Phases), 1))
	done := int32(min(phaseIdx, len(r.action.Phases)))
	pct := min(max(p.Percent, 0), 100)
	r.e.Progress(v1alpha1.Progress{
		Percent:    min((done*100+pct)/n, 100),
		BytesDone:  p.BytesDone,
		BytesTotal: p.BytesTotal,
	})
}

// releaseAll runs the pending cleanups, last registered first.
func (r *runner) releaseAll(ctx context.Context) error {
	_, err := r.releaseWhere(ctx, func(v1alpha1.CleanupRecord) bool { return true })
	return err
}

// releaseHolds releases the pending holds now and returns how long the
// longest was held.
func (r *runner) releaseHolds(ctx context.Context) (time.Duration, error) {
	released, err := r.releaseWhere(ctx, func(c v1alpha1.CleanupRecord) bool { return c.Hold })
	var longest time.Duration
	for _, c := range released {
		if c.Since == nil {
			continue
		}
		held := r.e.clock().Since(c.Since.Time)
		longest = max(longest, held)
		if r.e.HoldReleased != nil {
			r.e.HoldReleased(held)
		}
	}
	return longest, err
}

// releaseWhere runs the pending cleanups that match accepts, last
// registered first, and returns those released. Every one is attempted; a
// failed one stays pending so a later run can retry it.
func (r *runner) releaseWhere(ctx context.Context, match func(v1alpha1.CleanupRecord) bool) ([]v1alpha1.CleanupRecord, error) {
	var errs []error
	var released, failed []v1alpha1.CleanupRecord
	for {
		c, ok := r.t.popCleanup(match)
		if !ok {
			break
		}
		if err := r.release(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("cleanup %q of phase %q: %w", c.Key, c.Phase, err))
			failed = append(failed, c)
		} else {
			released = append(released, c)
		}
		if err := r.checkpoint(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(failed) - 1; i >= 0; i-- {
		r.t.addCleanup(failed[i])
	}
	return released, errors.Join(errs...)
}

func (r *runner) release(ctx context.Context, c v1alpha1.CleanupRecord) error {
	for i, p := range r.action.AllPhases() {
		if p.Name == c.Phase {
			return guard(ctx, fmt.Sprintf("release of function %s", p.Func.Signature().Name), func() error {
				return p.Func.Release(ctx, r.runtime(i, p), c.Key)
			})
		}
	}
	return fmt.Errorf("no phase %q in action %q", c.Phase, r.action.Name)
}
