package functions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// unschedulableGrace is how long a mover pod may stay unschedulable before
// its phase fails with the scheduler's reason: long enough for a cluster
// autoscaler to add a node, far shorter than the hours a data timeout
// allows.
const unschedulableGrace = 5 * time.Minute

// errUnschedulable marks a pod the scheduler found no node for.
var errUnschedulable = errors.New("the scheduler found no node for the pod")

// unschedulableLimit ends a wait on a pod once the pod has been
// unschedulable for grace without a break. The scheduler says so in the
// pod's PodScheduled condition and may not update it again, so a timer,
// not the next event, ends the wait.
type unschedulableLimit struct {
	clock  clock.Clock
	grace  time.Duration
	fail   context.CancelCauseFunc
	report func(reason string)

	mu     sync.Mutex
	reason string
	timer  clock.Timer   // the running timer; nil when none runs
	stop   chan struct{} // closed when timer is stopped
}

// withUnschedulableLimit returns ctx, ended with errUnschedulable once the
// pods observe sees stay unschedulable for grace, and report is told the
// scheduler's reason when it first shows. done stops the timer.
func withUnschedulableLimit(ctx context.Context, clk clock.Clock, grace time.Duration, report func(string)) (context.Context, *unschedulableLimit, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	u := &unschedulableLimit{clock: clk, grace: grace, fail: cancel, report: report}
	return ctx, u, func() { u.observe(nil); cancel(nil) }
}

// observe takes the pod's latest state (nil: stop watching).
func (u *unschedulableLimit) observe(p *corev1.Pod) {
	reason, ok := unschedulableReason(p)
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case !ok && u.timer != nil:
		u.timer.Stop()
		close(u.stop)
		u.timer, u.stop = nil, nil
	case ok && u.timer == nil:
		u.timer, u.stop = u.clock.NewTimer(u.grace), make(chan struct{})
		u.reason = reason
		u.report(reason)
		go u.expire(u.timer, u.stop)
	case ok:
		u.reason = reason
	}
}

func (u *unschedulableLimit) expire(timer clock.Timer, stop chan struct{}) {
	select {
	case <-timer.C():
		u.mu.Lock()
		reason := u.reason
		u.mu.Unlock()
		u.fail(fmt.Errorf("%w for %s: %s", errUnschedulable, u.grace, reason))
	case <-stop:
	}
}

// unschedulableReason is the scheduler's message on a pod it could not
// place, and whether it could not.
func unschedulableReason(p *corev1.Pod) (string, bool) {
	if p == nil || p.Spec.NodeName != "" {
		return "", false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message, true
		}
	}
	return "", false
}
