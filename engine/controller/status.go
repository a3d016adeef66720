package controller

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Condition reasons set on ActionSets.
const (
	ReasonSucceeded = "Succeeded"
	ReasonFailed    = "Failed"
	ReasonCancelled = "Cancelled"
	ReasonRunning   = "Running"
)

// resumeState is the checkpoint a restarted controller resumes from: the
// status of a Running ActionSet that recorded phases; nil otherwise.
func resumeState(st v1alpha1.ActionSetStatus) *run.State {
	if st.State != v1alpha1.ActionSetRunning || len(st.Phases) == 0 {
		return nil
	}
	s := run.State{Phases: st.Phases, Cleanups: st.PendingCleanups}.DeepCopy()
	return &s
}

// applyCheckpoint copies a run's checkpoint into status: the phase
// records, the pending cleanups, the phase running now and the progress.
func applyCheckpoint(st *v1alpha1.ActionSetStatus, s run.State, p v1alpha1.Progress) {
	s = s.DeepCopy()
	st.State = v1alpha1.ActionSetRunning
	st.Phases = s.Phases
	st.PendingCleanups = s.Cleanups
	st.CurrentPhase = currentPhase(s.Phases)
	st.Progress = p
}

// currentPhase is the name of the phase running now, or "".
func currentPhase(phases []v1alpha1.PhaseStatus) string {
	for _, p := range phases {
		if p.State == v1alpha1.PhaseRunning {
			return p.Name
		}
	}
	return ""
}

// applyResult records the outcome of a finished run: state, artifacts,
// message, completion time and the Complete and Failed conditions.
func applyResult(st *v1alpha1.ActionSetStatus, res *run.Result, p v1alpha1.Progress, gen int64, now metav1.Time) error {
	applyCheckpoint(st, res.State, p)
	st.CurrentPhase = ""
	art, err := encodeArtifacts(res.Artifacts)
	if err != nil {
		res = &run.Result{Outcome: v1alpha1.ActionSetFailed, State: res.State, Err: err}
	}
	st.Artifacts = art
	msg := "action succeeded"
	if res.Err != nil {
		msg = res.Err.Error()
	}
	if res.Outcome == v1alpha1.ActionSetSucceeded {
		st.Progress.Percent = 100
	}
	finish(st, res.Outcome, msg, gen, now)
	return err
}

// finish sets a final state with its message, completion time and
// conditions.
func finish(st *v1alpha1.ActionSetStatus, state v1alpha1.ActionSetState, msg string, gen int64, now metav1.Time) {
	st.State = state
	st.Message = msg
	st.CurrentPhase = ""
	st.CompletionTime = &now
	setConditions(st, state, msg, gen)
}

// setConditions sets Complete (True only on success) and Failed (True on
// failure or cancel) for a final state.
func setConditions(st *v1alpha1.ActionSetStatus, state v1alpha1.ActionSetState, msg string, gen int64) {
	complete, failed := metav1.ConditionFalse, metav1.ConditionFalse
	reason := ReasonFailed
	switch state {
	case v1alpha1.ActionSetSucceeded:
		complete, reason = metav1.ConditionTrue, ReasonSucceeded
	case v1alpha1.ActionSetCancelled:
		failed, reason = metav1.ConditionTrue, ReasonCancelled
	case v1alpha1.ActionSetFailed:
		failed = metav1.ConditionTrue
	default:
		reason = ReasonRunning
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionComplete, Status: complete, Reason: reason, Message: msg, ObservedGeneration: gen})
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionFailed, Status: failed, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// encodeArtifacts turns the action's outputs into status JSON.
func encodeArtifacts(a map[string]any) (map[string]apiextensionsv1.JSON, error) {
	if len(a) == 0 {
		return nil, nil
	}
	out := make(map[string]apiextensionsv1.JSON, len(a))
	for name, v := range a {
		raw, err := json.Marshal(celenv.JSON(v))
		if err != nil {
			return nil, fmt.Errorf("encode artifact %q: %w", name, err)
		}
		out[name] = apiextensionsv1.JSON{Raw: raw}
	}
	return out, nil
}
