package plugin

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func ago(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(-d))
	return &t
}

func TestDescribeFake(t *testing.T) {
	as := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: "basic-app"},
		Action:    "backup",
		Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Location:  &v1alpha1.LocalObjectReference{Name: "s3"},
		Params:    map[string]apiextensionsv1.JSON{"tables": js(`["a", "b"]`), "retries": js(`3`)},
	}, v1alpha1.ActionSetStatus{
		State:        v1alpha1.ActionSetRunning,
		CurrentPhase: "copy",
		Progress:     v1alpha1.Progress{Percent: 45, BytesDone: 1536 << 20, BytesTotal: 4 << 30},
		StartTime:    ago(5 * time.Minute),
		Phases: []v1alpha1.PhaseStatus{{
			Name: "snapshot", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseSucceeded,
			StartTime: ago(5 * time.Minute), EndTime: ago(4*time.Minute + 48*time.Second), Attempts: 1,
		}, {
			Name: "copy", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseRunning,
			StartTime: ago(4*time.Minute + 48*time.Second), Attempts: 2, Message: "attempt 1 failed:\n  connection reset",
		}},
		Artifacts: map[string]apiextensionsv1.JSON{"snapshot": js(`{"name": "snap-1"}`)},
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ConditionComplete, Status: metav1.ConditionFalse, Reason: "Running",
			LastTransitionTime: *ago(5 * time.Minute), Message: "phase copy is running",
		}},
	})
	client := newFakeClient(t, toUnstructured(t, as))
	got := runCmd(t, client, "describe", "web-backup-x7k2p")
	want := result{Out: `Name:            web-backup-x7k2p
Namespace:       shop
Blueprint:       basic-app
Action:          backup
Object:          Deployment/web (apps/v1) in shop
Location:        s3
Params:          retries=3 tables=["a","b"]
State:           Running
Current phase:   copy
Progress:        45%  1.5 GiB / 4.0 GiB
Started:         2026-11-22T11:55:00Z
Phases:
  PHASE      STAGE   STATE       ATTEMPTS   DURATION   MESSAGE
  snapshot   main    Succeeded   1          12s        -
  copy       main    Running     2          4m48s      attempt 1 failed: connection reset
Artifacts:
  snapshot:   {"name":"snap-1"}
Conditions:
  TYPE       STATUS   REASON    AGE   MESSAGE
  Complete   False    Running   5m    phase copy is running
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
}

func TestDescribeEmptyFake(t *testing.T) {
	as := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: "basic-app"},
		Action:    "restore",
		Object:    v1alpha1.ObjectReference{Kind: "Deployment", Name: "web"},
		Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: "web-backup-aaaaa"},
		Cancel:    true,
	}, v1alpha1.ActionSetStatus{})
	client := newFakeClient(t, toUnstructured(t, as))
	got := runCmd(t, client, "describe", "actionset/web-backup-x7k2p")
	want := result{Out: `Name:              web-backup-x7k2p
Namespace:         shop
Blueprint:         basic-app
Action:            restore
Object:            Deployment/web
Input artifacts:   from actionset web-backup-aaaaa
Cancel:            requested
State:             -
Progress:          0%
Phases:
  <none>
Artifacts:
  <none>
Conditions:
  <none>
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
}
