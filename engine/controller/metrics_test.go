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
	m.observeHold(1500 * time.Millisecond)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP snapflow_quiesce_hold_seconds How long each quiesce hold (freeze) lasted, from freeze to release.
# TYPE snapflow_quiesce_hold_seconds histogram
snapflow_quiesce_hold_seconds_bucket{le="0.1"} 0
snapflow_quiesce_hold_seconds_bucket{le="0.2"} 0
snapflow_quiesce_hold_seconds_bucket{le="0.4"} 0
snapflow_quiesce_hold_seconds_bucket{le="0.8"} 0
snapflow_quiesce_hold_seconds_bucket{le="1.6"} 1
snapflow_quiesce_hold_seconds_bucket{le="3.2"} 1
snapflow_quiesce_hold_seconds_bucket{le="6.4"} 1
snapflow_quiesce_hold_seconds_bucket{le="12.8"} 1
snapflow_quiesce_hold_seconds_bucket{le="25.6"} 1
snapflow_quiesce_hold_seconds_bucket{le="51.2"} 1
snapflow_quiesce_hold_seconds_bucket{le="102.4"} 1
snapflow_quiesce_hold_seconds_bucket{le="204.8"} 1
snapflow_quiesce_hold_seconds_bucket{le="409.6"} 1
snapflow_quiesce_hold_seconds_bucket{le="+Inf"} 1
snapflow_quiesce_hold_seconds_sum 1.5
snapflow_quiesce_hold_seconds_count 1
`), "snapflow_quiesce_hold_seconds"); err != nil {
		t.Error(err)
	}
}
