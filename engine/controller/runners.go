package controller

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/snapflow/snapflow/engine/function"
)

// errCancelled is the cause of a run cancelled by spec.cancel or deletion.
var errCancelled = errors.New("cancelled")

// Runners owns the running actions: at most one per ActionSet UID and at
// most limit at once. It is a manager.Runnable: runs live as long as the
// manager does. When a run ends its ActionSet is sent on Done, a source
// for the controller, so the final status is reconciled.
type Runners struct {
	sem  chan struct{}
	done chan event.GenericEvent

	mu       sync.Mutex
	base     context.Context
	stopping bool
	active   map[types.UID]context.CancelCauseFunc
	wg       sync.WaitGroup
}

// NewRunners returns a runner manager that runs at most limit actions at
// once.
func NewRunners(limit int) *Runners {
	if limit < 1 {
		limit = 1
	}
	return &Runners{
		sem:    make(chan struct{}, limit),
		done:   make(chan event.GenericEvent, 1024),
		active: map[types.UID]context.CancelCauseFunc{},
	}
}

// Done receives the ActionSets whose run ended.
func (rs *Runners) Done() <-chan event.GenericEvent { return rs.done }

// Start records the manager's context and, when it ends, interrupts every
// run and waits for them: each releases its holds, so nothing stays
// frozen, and leaves the rest for the next controller (the manager's
// graceful shutdown timeout bounds the wait). None writes status after.
func (rs *Runners) Start(ctx context.Context) error {
	rs.mu.Lock()
	rs.base = ctx
	rs.mu.Unlock()
	<-ctx.Done()
	rs.mu.Lock()
	rs.stopping = true
	for _, cancel := range rs.active {
		cancel(function.ErrInterrupted) // their ActionSets stay Running for the next controller
	}
	rs.mu.Unlock()
	rs.wg.Wait()
	return nil
}

// Stopping reports whether the manager is shutting down.
func (rs *Runners) Stopping() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.stopping
}

// Running reports whether the ActionSet with uid has a run.
func (rs *Runners) Running(uid types.UID) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	_, ok := rs.active[uid]
	return ok
}

// Cancel cancels the run of the ActionSet with uid, if any: its main
// phases stop and the executor runs its finally phases and cleanups.
func (rs *Runners) Cancel(uid types.UID) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	cancel, ok := rs.active[uid]
	if ok {
		cancel(errCancelled)
	}
	return ok
}

// retryDelay is how long a run that could not record its state waits
// before its ActionSet is reconciled again, so that an API server that
// refuses writes is not hammered.
const retryDelay = 5 * time.Second

// Launch starts fn for obj in its own goroutine once a slot is free,
// unless obj already has a run; it reports whether it started one. With
// cancelled, fn's context is cancelled from the start, so only finally
// phases and cleanups run.
// An error from fn delays the enqueue by retryDelay.
func (rs *Runners) Launch(obj client.Object, cancelled bool, fn func(ctx context.Context) error) (bool, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.base == nil || rs.stopping {
		return false, errors.New("runners are not running")
	}
	if _, ok := rs.active[obj.GetUID()]; ok {
		return false, nil
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(rs.base))
	if cancelled {
		cancel(errCancelled)
	}
	rs.active[obj.GetUID()] = cancel
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		var err error
		defer func() { rs.finish(obj, cancel, err) }()
		select {
		case rs.sem <- struct{}{}:
			defer func() { <-rs.sem }()
		case <-ctx.Done():
			// Cancelled while waiting for a slot: fn still runs so that the
			// cancel is recorded; it has nothing to wrap up but finally.
		}
		err = runRecovered(ctx, fn)
	}()
	return true, nil
}

// runRecovered runs fn; a panic becomes its error, so that one run's bug
// ends that run (retried like a failed status write), not the controller.
func runRecovered(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("run panicked: %v", v)
			log.FromContext(ctx).Error(err, "run panicked", "stack", string(debug.Stack()))
		}
	}()
	return fn(ctx)
}

// finish forgets a run and enqueues its ActionSet, after retryDelay when
// the run failed to record its state.
func (rs *Runners) finish(obj client.Object, cancel context.CancelCauseFunc, err error) {
	cancel(nil)
	rs.mu.Lock()
	delete(rs.active, obj.GetUID())
	base := rs.base
	rs.mu.Unlock()
	if err != nil {
		select {
		case <-time.After(retryDelay):
		case <-base.Done():
			return
		}
	}
	select {
	case rs.done <- event.GenericEvent{Object: obj}:
	case <-base.Done():
	}
}

// Wait blocks until every run has returned; tests use it.
func (rs *Runners) Wait() { rs.wg.Wait() }
