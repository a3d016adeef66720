package run

import (
	"encoding/json"
	"fmt"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// State is the checkpoint of a run: what the controller stores in the
// ActionSet's status, and what a resumed run starts from.
type State struct {
	Phases   []v1alpha1.PhaseStatus   // one record per phase, main then finally
	Cleanups []v1alpha1.CleanupRecord // registered and not yet released, in registration order
}

// DeepCopy returns an independent copy.
func (s State) DeepCopy() State {
	out := State{Phases: make([]v1alpha1.PhaseStatus, len(s.Phases))}
	for i := range s.Phases {
		s.Phases[i].DeepCopyInto(&out.Phases[i])
	}
	out.Cleanups = append([]v1alpha1.CleanupRecord(nil), s.Cleanups...)
	return out
}

// newState is the state of a run that has not started.
func newState(a *plan.Action) State {
	var s State
	for _, p := range a.AllPhases() {
		s.Phases = append(s.Phases, v1alpha1.PhaseStatus{Name: p.Name, Stage: p.Stage, State: v1alpha1.PhasePending})
	}
	return s
}

// checkResume verifies a checkpoint belongs to this action's phases, so a
// changed blueprint cannot be resumed into the wrong phase.
func checkResume(a *plan.Action, s State) error {
	phases := a.AllPhases()
	if len(s.Phases) != len(phases) {
		return fmt.Errorf("checkpoint has %d phases, action %q has %d", len(s.Phases), a.Name, len(phases))
	}
	for i, p := range phases {
		if r := s.Phases[i]; r.Name != p.Name || r.Stage != p.Stage {
			return fmt.Errorf("checkpoint phase %d is %s/%s, action %q has %s/%s", i, r.Stage, r.Name, a.Name, p.Stage, p.Name)
		}
	}
	return nil
}

// done reports whether a record needs no more work.
func done(r v1alpha1.PhaseStatus) bool {
	return r.State == v1alpha1.PhaseSucceeded || r.State == v1alpha1.PhaseSkipped
}

// tracker guards the state while functions report from their goroutines.
type tracker struct {
	mu    sync.Mutex
	state State
	now   func() metav1.Time
}

func (t *tracker) update(i int, f func(r *v1alpha1.PhaseStatus)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.state.Phases[i])
}

func (t *tracker) record(i int) v1alpha1.PhaseStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return *t.state.Phases[i].DeepCopy()
}

func (t *tracker) snapshot() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state.DeepCopy()
}

// addCleanup records a cleanup once; a resumed phase registering the same
// key again does not duplicate it.
func (t *tracker) addCleanup(c v1alpha1.CleanupRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, have := range t.state.Cleanups {
		if have.Phase == c.Phase && have.Func == c.Func && have.Key == c.Key {
			return
		}
	}
	t.state.Cleanups = append(t.state.Cleanups, c)
}

// popCleanup removes and returns the most recently registered cleanup
// that match accepts.
func (t *tracker) popCleanup(match func(v1alpha1.CleanupRecord) bool) (v1alpha1.CleanupRecord, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.state.Cleanups) - 1; i >= 0; i-- {
		if c := t.state.Cleanups[i]; match(c) {
			t.state.Cleanups = append(t.state.Cleanups[:i], t.state.Cleanups[i+1:]...)
			return c, true
		}
	}
	return v1alpha1.CleanupRecord{}, false
}

// encodeOutputs turns outputs into status JSON, leaving out secret ones.
func encodeOutputs(p *plan.Phase, outputs map[string]any) (map[string]apiextensionsv1.JSON, error) {
	if len(outputs) == 0 {
		return nil, nil
	}
	out := map[string]apiextensionsv1.JSON{}
	for name, v := range outputs {
		if o, ok := p.Func.Signature().Output(name); ok && o.Secret {
			continue
		}
		raw, err := json.Marshal(celenv.JSON(v))
		if err != nil {
			return nil, fmt.Errorf("encode output %q: %w", name, err)
		}
		out[name] = apiextensionsv1.JSON{Raw: raw}
	}
	return out, nil
}
