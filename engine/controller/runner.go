package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// statusWriteTimeout bounds one status write, retries included.
const statusWriteTimeout = 30 * time.Second

// errStopping refuses status writes once the manager is stopping: the
// last checkpoint stays, and a restarted controller resumes from it.
var errStopping = errors.New("controller is stopping; status left for resume")

// runner is one run of one ActionSet.
type runner struct {
	r       *Reconciler
	as      *v1alpha1.ActionSet // as it was when the run started; for Events
	req     run.Request
	clients function.Clients    // acting as the ActionSet's ServiceAccount
	bp      *v1alpha1.Blueprint // as the run uses it; frozen into status
	mu      sync.Mutex
	phases  []v1alpha1.PhaseStatus // as last recorded, to find changes
	prog    v1alpha1.Progress
	shown   v1alpha1.Progress // as last written to status
}

// lockWorkload waits until no other run acts on the target, saying in
// status whom it waits for.
func (rn *runner) lockWorkload(ctx context.Context) (func(), error) {
	t := rn.req.Inputs.Target
	workload := t.Namespace + "/" + t.Kind + "/" + t.Name
	waited := false
	release, err := rn.r.workloads.acquire(ctx, workload, client.ObjectKeyFromObject(rn.as), func(holder client.ObjectKey) {
		waited = true
		msg := fmt.Sprintf("waiting for ActionSet %s, which runs against %s %s/%s, to finish", holder, t.Kind, t.Namespace, t.Name)
		if err := rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) { st.Message = msg }); err != nil {
			log.FromContext(ctx).Error(err, "record waiting")
		}
	})
	if err == nil && waited {
		if err := rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) { st.Message = "" }); err != nil {
			log.FromContext(ctx).Error(err, "clear waiting")
		}
	}
	return release, err
}

// progressEvery is how often a changing progress is written to status
// between checkpoints: often enough for a moving bar, rarely enough to
// spare the API server.
const progressEvery = time.Second

// run executes the action and records its outcome; it is the body of the
// runner goroutine. An error means the outcome could not be recorded.
func (rn *runner) run(ctx context.Context) error {
	logger := log.FromContext(ctx).WithValues("actionset", client.ObjectKeyFromObject(rn.as))
	ctx = log.IntoContext(ctx, logger)
	if rn.req.Resume != nil {
		rn.phases = rn.req.Resume.DeepCopy().Phases
	}
	now := metav1.NewTime(rn.r.clock.Now())
	err := rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) {
		st.State = v1alpha1.ActionSetRunning
		st.ObservedGeneration = rn.as.Generation
		st.BlueprintGeneration = rn.bp.Generation
		if st.BlueprintSpec == nil { // the first start freezes what the run uses
			st.Params = maps.Clone(rn.as.Spec.Params)
		}
		st.BlueprintSpec = rn.bp.Spec.DeepCopy()
		if st.StartTime == nil {
			st.StartTime = &now
		}
	})
	if err != nil {
		logger.Error(err, "mark running")
		return err // the reconcile after this run ends starts it again
	}
	if release, err := rn.lockWorkload(ctx); err == nil {
		defer release()
	} // else cancelled while waiting: the executor only wraps up
	exec := &run.Executor{
		Clock: rn.r.clock, Checkpoint: rn.checkpoint, Progress: rn.progress,
		Clients: rn.clients, HoldReleased: rn.r.metrics.observeHold, ActionTimeout: rn.r.actionTimeout,
	}
	stopProgress := rn.publishProgress(ctx)
	res, err := exec.Run(ctx, rn.req)
	stopProgress()
	if err != nil {
		res = &run.Result{Outcome: v1alpha1.ActionSetFailed, Err: err}
		if rn.req.Resume != nil {
			res.State = *rn.req.Resume
		}
	}
	var final v1alpha1.ActionSetStatus
	err = rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) {
		if res.State.Phases == nil { // the request was refused: keep what status has
			res.State = run.State{Phases: st.Phases, Cleanups: st.PendingCleanups}
		}
		if aerr := applyResult(st, res, rn.progressNow(), rn.as.Generation, metav1.NewTime(rn.r.clock.Now())); aerr != nil {
			logger.Error(aerr, "encode artifacts")
		}
		final = *st.DeepCopy()
	})
	if err != nil {
		logger.Error(err, "record the outcome")
		return err
	}
	rn.record(phaseEvents(rn.phases, final.Phases)...)
	rn.record(endEvent(final))
	rn.r.metrics.observe(rn.action(), final)
	return nil
}

// action is the compiled action this runner runs, nil if unknown.
func (rn *runner) action() *plan.Action {
	if rn.req.Blueprint == nil {
		return nil
	}
	a, _ := rn.req.Blueprint.Action(rn.req.Action)
	return a
}

// checkpoint is the executor's Checkpoint: it writes the run's state into
// status and records Events for the phases that started or ended. It
// writes even when ctx is cancelled: a cancelled run still records its
// finally phases.
func (rn *runner) checkpoint(ctx context.Context, s run.State) error {
	prog := rn.progressNow()
	err := rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) {
		applyCheckpoint(st, s, prog)
	})
	if err != nil {
		return fmt.Errorf("write ActionSet status: %w", err)
	}
	rn.mu.Lock()
	events := phaseEvents(rn.phases, s.Phases)
	rn.phases = s.DeepCopy().Phases
	rn.mu.Unlock()
	rn.record(events...)
	return nil
}

// progress is the executor's Progress: the latest value goes out with the
// next checkpoint.
func (rn *runner) progress(p v1alpha1.Progress) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.prog = p
}

func (rn *runner) progressNow() v1alpha1.Progress {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.shown = rn.prog
	return rn.prog
}

// publishProgress writes the progress to status every progressEvery
// while it changes between checkpoints, so a bar following status moves
// during a long phase. The returned stop waits for the last write, so
// none can follow the final status.
func (rn *runner) publishProgress(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := rn.r.clock.NewTicker(progressEvery)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C():
			}
			rn.mu.Lock()
			changed := rn.prog != rn.shown
			rn.mu.Unlock()
			if !changed {
				continue
			}
			prog := rn.progressNow()
			err := rn.r.updateStatus(ctx, rn.as, func(st *v1alpha1.ActionSetStatus) { st.Progress = prog })
			if err != nil && ctx.Err() == nil {
				log.FromContext(ctx).V(1).Info("progress not written", "error", err.Error())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// record emits Events on the ActionSet.
func (rn *runner) record(events ...phaseEvent) {
	if rn.r.recorder == nil {
		return
	}
	for _, e := range events {
		rn.r.recorder.Eventf(rn.as, nil, e.Type, e.Reason, e.Action, "%s", e.Note)
	}
}

// updateStatus applies mutate to the ActionSet's latest status, read from
// the API server, and writes it through the status subresource, retrying
// on conflicts. It writes even when ctx is cancelled, since a cancelled
// run must still record its outcome, but not once the manager stops.
func (r *Reconciler) updateStatus(ctx context.Context, as *v1alpha1.ActionSet, mutate func(*v1alpha1.ActionSetStatus)) error {
	if r.runners.Stopping() {
		return errStopping
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		latest := &v1alpha1.ActionSet{}
		if err := r.reader.Get(ctx, client.ObjectKeyFromObject(as), latest); err != nil {
			return fmt.Errorf("get ActionSet: %w", err)
		}
		if latest.UID != as.UID {
			return fmt.Errorf("ActionSet %s was replaced", client.ObjectKeyFromObject(as))
		}
		mutate(&latest.Status)
		if err := r.client.Status().Update(ctx, latest); err != nil {
			return fmt.Errorf("update ActionSet status: %w", err)
		}
		return nil
	})
}
