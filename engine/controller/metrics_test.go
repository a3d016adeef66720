package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestRunMetricsObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newRunMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := newRunMetrics(reg); err != nil || again.actionSets != m.actionSets {
		t.Fatalf("second registration: %v, reused %v", err, again.actionSets == m.actionSets)
	}
	start := metav1.NewTime(time.Unix(100, 0))
	end := metav1.NewTime(time.Unix(102, 0))
	m.observe(nil, v1alpha1.ActionSetStatus{
		State:    v1alpha1.ActionSetFailed,
		Progress: v1alpha1.Progress{BytesDone: 1024},
		Phases: []v1alpha1.PhaseStatus{
			{Name: "snap", State: v1alpha1.PhaseSucceeded, StartTime: &start, EndTime: &end},
			{Name: "skipped", State: v1alpha1.PhaseSkipped},
		},
	})
	want := `
# HELP snapflow_actionsets_total ActionSets finished, by result.
# TYPE snapflow_actionsets_total counter
snapflow_actionsets_total{result="Failed"} 1
# HELP snapflow_bytes_moved_total Bytes functions reported moving (progress bytesDone at the end of each run).
# TYPE snapflow_bytes_moved_total counter
snapflow_bytes_moved_total 1024
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "snapflow_actionsets_total", "snapflow_bytes_moved_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.phaseDuration); n != 1 {
		t.Errorf("phase duration series = %d, want 1 (skipped phases have no duration)", n)
	}
}
