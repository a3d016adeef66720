package run

import (
	"context"
	"fmt"

	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// heldFrom is the first main phase that registered a hold still pending in
// a checkpoint: the controller stopped while the app was held. The hold
// may have lapsed meanwhile (a freeze's watchdog thaws it after maxHold),
// so nothing after it can claim the app was held.
func heldFrom(a *plan.Action, s State) (int, bool) {
	from := -1
	for _, c := range s.Cleanups {
		if !c.Hold {
			continue
		}
		for i, p := range a.Phases {
			if p.Name == c.Phase && (from < 0 || i < from) {
				from = i
			}
		}
	}
	return from, from >= 0
}

// requiesce releases the holds a resumed run found pending and rewinds the
// main phases from the one that took them, so they run again: the app is
// held anew, and what follows (a snapshot's cut) happens under that hold.
func (r *runner) requiesce(ctx context.Context, from int) error {
	if _, err := r.releaseHolds(ctx); err != nil {
		return fmt.Errorf("release the holds found after a restart: %w", err)
	}
	for i := from; i < len(r.action.Phases); i++ {
		if rec := r.t.record(i); rec.State == v1alpha1.PhasePending {
			continue
		}
		r.t.update(i, func(rec *v1alpha1.PhaseStatus) {
			rec.State, rec.Outputs, rec.EndTime = v1alpha1.PhasePending, nil, nil
			rec.Message = "to run again: the controller stopped while the app was held, and the hold may have lapsed"
		})
		delete(r.phases, r.action.Phases[i].Name)
	}
	return r.checkpoint(ctx)
}
