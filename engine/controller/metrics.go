package controller

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// runMetrics are the controller's own Prometheus metrics, served on
// /metrics beside controller-runtime's.
type runMetrics struct {
	actionSets    *prometheus.CounterVec   // by result: Succeeded, Failed, Cancelled
	phaseDuration *prometheus.HistogramVec // by function and phase state
	bytesMoved    prometheus.Counter       // as reported by functions' progress
	quiesceHold   prometheus.Histogram     // how long applications stayed frozen
}

// holdBuckets span a sub-second fsfreeze to a ten-minute database backup
// mode: a hold past a minute is worth an alert.
var holdBuckets = prometheus.ExponentialBuckets(0.1, 2, 13)

// phaseBuckets span a sub-second log phase to a multi-hour export.
var phaseBuckets = prometheus.ExponentialBuckets(0.05, 4, 10)

// newRunMetrics registers the metrics with reg, reusing collectors an
// earlier manager in the same process registered.
func newRunMetrics(reg prometheus.Registerer) (*runMetrics, error) {
	m := &runMetrics{
		actionSets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snapflow_actionsets_total", Help: "ActionSets finished, by result.",
		}, []string{"result"}),
		phaseDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "snapflow_phase_duration_seconds", Help: "Duration of finished phases, by function and final state.",
			Buckets: phaseBuckets,
		}, []string{"func", "state"}),
		bytesMoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "snapflow_bytes_moved_total", Help: "Bytes functions reported moving (progress bytesDone at the end of each run).",
		}),
		quiesceHold: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "snapflow_quiesce_hold_seconds", Help: "How long each quiesce hold (freeze) lasted, from freeze to release.",
			Buckets: holdBuckets,
		}),
	}
	var err error
	if m.actionSets, err = register(reg, m.actionSets); err != nil {
		return nil, err
	}
	if m.phaseDuration, err = register(reg, m.phaseDuration); err != nil {
		return nil, err
	}
	if m.bytesMoved, err = register(reg, m.bytesMoved); err != nil {
		return nil, err
	}
	if m.quiesceHold, err = register(reg, m.quiesceHold); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// defaultRunMetrics registers with controller-runtime's registry.
func defaultRunMetrics() (*runMetrics, error) { return newRunMetrics(ctrlmetrics.Registry) }

// observe records a finished run: its result, the durations of its phases
// that ran (skipped and pending ones have no duration), and bytes moved.
func (m *runMetrics) observe(a *plan.Action, final v1alpha1.ActionSetStatus) {
	if m == nil {
		return
	}
	m.actionSets.WithLabelValues(string(final.State)).Inc()
	funcs := map[string]string{}
	if a != nil {
		for _, p := range a.AllPhases() {
			funcs[p.Name] = p.Func.Signature().Name
		}
	}
	for _, p := range final.Phases {
		if p.StartTime == nil || p.EndTime == nil {
			continue
		}
		m.phaseDuration.WithLabelValues(funcs[p.Name], string(p.State)).Observe(p.EndTime.Sub(p.StartTime.Time).Seconds())
	}
	if final.Progress.BytesDone > 0 {
		m.bytesMoved.Add(float64(final.Progress.BytesDone))
	}
}

// observeHold records one released hold.
func (m *runMetrics) observeHold(held time.Duration) {
	if m == nil {
		return
	}
	m.quiesceHold.Observe(held.Seconds())
}
