package controller

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func phases(states ...v1alpha1.PhaseState) []v1alpha1.PhaseStatus {
	names := []string{"a", "b", "c", "z"}
	var out []v1alpha1.PhaseStatus
	for i, s := range states {
		stage := v1alpha1.PhaseStageMain
		if names[i] == "z" {
			stage = v1alpha1.PhaseStageFinally
		}
		out = append(out, v1alpha1.PhaseStatus{Name: names[i], Stage: stage, State: s})
	}
	return out
}

func TestApplyCheckpoint(t *testing.T) {
	st := &v1alpha1.ActionSetStatus{Message: "kept"}
	s := run.State{
		Phases:   phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseRunning, v1alpha1.PhasePending),
		Cleanups: []v1alpha1.CleanupRecord{{Phase: "a", Func: "quiesce", Key: "k"}},
	}
	applyCheckpoint(st, s, v1alpha1.Progress{Percent: 40})
	want := &v1alpha1.ActionSetStatus{
		State: v1alpha1.ActionSetRunning, CurrentPhase: "b", Message: "kept",
		Phases: s.Phases, PendingCleanups: s.Cleanups, Progress: v1alpha1.Progress{Percent: 40},
	}
	if diff := cmp.Diff(st, want); diff != "" {
		t.Errorf("status (-got +want):\n%s", diff)
	}
	s.Phases[0].State = v1alpha1.PhaseFailed
	if st.Phases[0].State != v1alpha1.PhaseSucceeded {
		t.Error("status shares the checkpoint's phase records")
	}
}

func TestResumeState(t *testing.T) {
	running := v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, Phases: phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseRunning)}
	if got := resumeState(running); got == nil || len(got.Phases) != 2 {
		t.Errorf("resumeState(running) = %v, want the two records", got)
	}
	for _, st := range []v1alpha1.ActionSetStatus{
		{}, {State: v1alpha1.ActionSetRunning}, {State: v1alpha1.ActionSetFailed, Phases: running.Phases},
	} {
		if got := resumeState(st); got != nil {
			t.Errorf("resumeState(%s with %d phases) = %v, want nil", st.State, len(st.Phases), got)
		}
	}
}

func TestApplyResult(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name          string
		res           run.Result
		wantMsg       string
		wantComplete  metav1.ConditionStatus
		wantFailed    metav1.ConditionStatus
		wantArtifacts map[string]apiextensionsv1.JSON
		wantPercent   int32
	}{{
		name:          "succeeded",
		res:           run.Result{Outcome: v1alpha1.ActionSetSucceeded, Artifacts: map[string]any{"said": "hi", "n": int64(3)}, State: run.State{Phases: phases(v1alpha1.PhaseSucceeded)}},
		wantMsg:       "action succeeded",
		wantComplete:  metav1.ConditionTrue,
		wantFailed:    metav1.ConditionFalse,
		wantArtifacts: map[string]apiextensionsv1.JSON{"said": {Raw: []byte(`"hi"`)}, "n": {Raw: []byte(`3`)}},
		wantPercent:   100,
	}, {
		name:         "failed",
		res:          run.Result{Outcome: v1alpha1.ActionSetFailed, Err: errors.New(`phase "b" (fail) failed: boom`), State: run.State{Phases: phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseFailed)}},
		wantMsg:      `phase "b" (fail) failed: boom`,
		wantComplete: metav1.ConditionFalse,
		wantFailed:   metav1.ConditionTrue,
		wantPercent:  50,
	}, {
		name:         "cancelled",
		res:          run.Result{Outcome: v1alpha1.ActionSetCancelled, Err: errors.New("cancelled: context canceled"), State: run.State{Phases: phases(v1alpha1.PhaseFailed, v1alpha1.PhasePending, v1alpha1.PhasePending, v1alpha1.PhaseSucceeded)}},
		wantMsg:      "cancelled: context canceled",
		wantComplete: metav1.ConditionFalse,
		wantFailed:   metav1.ConditionTrue,
		wantPercent:  50,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &v1alpha1.ActionSetStatus{CurrentPhase: "b"}
			if err := applyResult(st, &tc.res, v1alpha1.Progress{Percent: 50}, 7, now); err != nil {
				t.Fatal(err)
			}
			if st.State != tc.res.Outcome || st.Message != tc.wantMsg || st.CurrentPhase != "" || st.Progress.Percent != tc.wantPercent {
				t.Errorf("state, message, current phase, percent = %s, %q, %q, %d; want %s, %q, \"\", %d",
					st.State, st.Message, st.CurrentPhase, st.Progress.Percent, tc.res.Outcome, tc.wantMsg, tc.wantPercent)
			}
			if st.CompletionTime == nil || !st.CompletionTime.Equal(&now) {
				t.Errorf("completionTime = %v, want %v", st.CompletionTime, now)
			}
			if diff := cmp.Diff(st.Artifacts, tc.wantArtifacts); diff != "" {
				t.Errorf("artifacts (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(st.Phases, tc.res.State.Phases); diff != "" {
				t.Errorf("phases (-got +want):\n%s", diff)
			}
			for typ, want := range map[string]metav1.ConditionStatus{v1alpha1.ConditionComplete: tc.wantComplete, v1alpha1.ConditionFailed: tc.wantFailed} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || c.Status != want || c.Message != tc.wantMsg || c.ObservedGeneration != 7 {
					t.Errorf("condition %s = %+v, want status %s, message %q, generation 7", typ, c, want, tc.wantMsg)
				}
			}
		})
	}
}

func TestPhaseEvents(t *testing.T) {
	before := phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseRunning, v1alpha1.PhasePending)
	after := phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseFailed, v1alpha1.PhasePending, v1alpha1.PhaseRunning)
	after[1].Message = "boom"
	got := phaseEvents(before, after)
	want := []phaseEvent{
		{"Warning", EventPhaseFailed, "Phase/b", `main phase "b" failed: boom`},
		{"Normal", EventPhaseStarted, "Phase/z", `finally phase "z" started`},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if got := phaseEvents(nil, phases(v1alpha1.PhaseSucceeded, v1alpha1.PhaseSkipped)); len(got) != 2 || got[0].Reason != EventPhaseSucceeded || got[1].Reason != EventPhaseSkipped {
		t.Errorf("events from nothing = %+v, want PhaseSucceeded, PhaseSkipped", got)
	}
}
