package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Event reasons recorded on ActionSets.
const (
	EventPhaseStarted   = "PhaseStarted"
	EventPhaseSucceeded = "PhaseSucceeded"
	EventPhaseFailed    = "PhaseFailed"
	EventPhaseSkipped   = "PhaseSkipped"
	EventActionEnded    = "Action"
)

// phaseEvent is one Event to record. Action names the phase: the events
// API folds Events with the same action and reason into one series, and
// each phase's start and end must stay an Event of its own.
type phaseEvent struct {
	Type, Reason, Action, Note string
}

// phaseAction is the Event action of a phase.
func phaseAction(p v1alpha1.PhaseStatus) string { return "Phase/" + p.Name }

// phaseEvents lists the Events for the phase records that changed state
// between two checkpoints: a phase started, or ended.
func phaseEvents(before, after []v1alpha1.PhaseStatus) []phaseEvent {
	var out []phaseEvent
	for i, p := range after {
		var was v1alpha1.PhaseState
		if i < len(before) && before[i].Name == p.Name {
			was = before[i].State
		}
		if p.State == was {
			continue
		}
		switch p.State {
		case v1alpha1.PhaseRunning:
			out = append(out, phaseEvent{corev1.EventTypeNormal, EventPhaseStarted, phaseAction(p), fmt.Sprintf("%s phase %q started", p.Stage, p.Name)})
		case v1alpha1.PhaseSucceeded:
			out = append(out, phaseEvent{corev1.EventTypeNormal, EventPhaseSucceeded, phaseAction(p), fmt.Sprintf("%s phase %q succeeded", p.Stage, p.Name)})
		case v1alpha1.PhaseSkipped:
			out = append(out, phaseEvent{corev1.EventTypeNormal, EventPhaseSkipped, phaseAction(p), fmt.Sprintf("%s phase %q skipped: its when condition is false", p.Stage, p.Name)})
		case v1alpha1.PhaseFailed:
			out = append(out, phaseEvent{corev1.EventTypeWarning, EventPhaseFailed, phaseAction(p), fmt.Sprintf("%s phase %q failed: %s", p.Stage, p.Name, p.Message)})
		}
	}
	return out
}

// endEvent is the Event for a run's final state.
func endEvent(st v1alpha1.ActionSetStatus) phaseEvent {
	t := corev1.EventTypeNormal
	if st.State != v1alpha1.ActionSetSucceeded {
		t = corev1.EventTypeWarning
	}
	return phaseEvent{t, string(st.State), "Run", fmt.Sprintf("action %s: %s", st.State, st.Message)}
}
