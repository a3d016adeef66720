package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Finalizer keeps a deleted ActionSet until its run has been cancelled and
// has run its finally phases and cleanups.
const Finalizer = "snapflow.dev/actionset"

// Reconciler reconciles ActionSets.
type Reconciler struct {
	client   client.Client // writes; reads of ActionSets come from the cache
	reader   client.Reader // uncached reads of snapflow's kinds: fresh status, blueprints
	recorder events.EventRecorder
	clock    clock.WithTicker
	compiled *compileCache
	runners  *Runners
	metrics  *runMetrics // nil: not recorded
	// What runs act as and may use.
	clientsFor            ClientsFor
	defaultServiceAccount string
	mover                 function.Mover
	azure                 function.AzureCloud
	locations             LocationPolicy
	actionTimeout         time.Duration
	workloads             workloadLocks // one run at a time per target
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// Reconcile brings one ActionSet forward: finalizer, cancel, start or
// resume its run. A running action is driven by its runner, so nothing is
// requeued.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	as := &v1alpha1.ActionSet{}
	if err := r.client.Get(ctx, req.NamespacedName, as); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !as.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.finalize(ctx, as)
	}
	if controllerutil.AddFinalizer(as, Finalizer) {
		return reconcile.Result{}, r.client.Update(ctx, as) // the update triggers the next step
	}
	if as.Status.State.Final() {
		return reconcile.Result{}, nil
	}
	if r.runners.Running(as.UID) {
		if as.Spec.Cancel {
			r.runners.Cancel(as.UID)
		}
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, r.start(ctx, as, as.Spec.Cancel)
}

// finalize cancels the run of a deleted ActionSet and, once no run is
// left, removes the finalizer.
func (r *Reconciler) finalize(ctx context.Context, as *v1alpha1.ActionSet) error {
	if !controllerutil.ContainsFinalizer(as, Finalizer) {
		return nil
	}
	if r.runners.Cancel(as.UID) {
		return nil // the runner enqueues the ActionSet when it is done
	}
	fresh := &v1alpha1.ActionSet{}
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(as), fresh); err != nil {
		return client.IgnoreNotFound(err)
	}
	if resumeState(fresh.Status) != nil { // interrupted by a restart: wrap it up
		return r.start(ctx, fresh, true)
	}
	controllerutil.RemoveFinalizer(fresh, Finalizer)
	if err := r.client.Update(ctx, fresh); err != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// start resolves the ActionSet's inputs and launches its run; a Running
// status is resumed. With cancel the run starts cancelled: only finally
// phases and cleanups run. Inputs that cannot be resolved fail the
// ActionSet at once.
func (r *Reconciler) start(ctx context.Context, as *v1alpha1.ActionSet, cancel bool) error {
	// The cache may lag behind a run that just ended: read status fresh.
	fresh := &v1alpha1.ActionSet{}
	if err := r.reader.Get(ctx, client.ObjectKeyFromObject(as), fresh); err != nil {
		return client.IgnoreNotFound(err)
	}
	if fresh.Status.State.Final() || fresh.UID != as.UID {
		return nil
	}
	if cancel && resumeState(fresh.Status) == nil {
		return r.fail(ctx, fresh, v1alpha1.ActionSetCancelled, "cancelled before the action started")
	}
	rn, err := r.prepare(ctx, fresh)
	if err != nil {
		if !function.IsPermanent(err) && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return err // transient: retried with backoff
		}
		if ferr := r.fail(ctx, fresh, v1alpha1.ActionSetFailed, err.Error()); ferr != nil {
			return ferr
		}
		return reconcile.TerminalError(err) // how controller-runtime is told not to requeue
	}
	_, err = r.runners.Launch(fresh, cancel, rn.run)
	return err
}

// fail ends an ActionSet that did not run (or cannot go on) with state
// and msg.
func (r *Reconciler) fail(ctx context.Context, as *v1alpha1.ActionSet, state v1alpha1.ActionSetState, msg string) error {
	now := metav1.NewTime(r.clock.Now())
	var final v1alpha1.ActionSetStatus
	err := r.updateStatus(ctx, as, func(st *v1alpha1.ActionSetStatus) {
		st.ObservedGeneration = as.Generation
		finish(st, state, msg, as.Generation, now)
		final = *st.DeepCopy()
	})
	if err != nil {
		return err
	}
	(&runner{r: r, as: as}).record(endEvent(final))
	return nil
}

// prepare resolves everything the run needs: the compiled blueprint, the
// target, the location, the input artifacts and the params.
func (r *Reconciler) prepare(ctx context.Context, as *v1alpha1.ActionSet) (*runner, error) {
	bp, c, err := r.runBlueprint(ctx, as)
	if err != nil {
		return nil, err
	}
	if c.plan == nil {
		return nil, function.Permanent(fmt.Errorf("blueprint %s/%s is invalid (%d errors):\n%s", bp.Namespace, bp.Name, len(c.errs), strings.Join(c.errs, "\n")))
	}
	if _, ok := c.plan.Action(as.Spec.Action); !ok {
		return nil, function.Permanent(fmt.Errorf("blueprint %s/%s has no action %q", bp.Namespace, bp.Name, as.Spec.Action))
	}
	params, err := decodeParams(runParams(as))
	if err == nil {
		_, err = run.BindParams(c.plan, params)
	}
	if err != nil {
		return nil, function.Permanent(fmt.Errorf("params: %w", err))
	}
	clients, err := r.runClients(as)
	if err != nil {
		return nil, err
	}
	tgt, err := resolveTarget(ctx, clients, as)
	if err != nil {
		return nil, err
	}
	loc, err := r.resolveLocation(ctx, clients, as)
	if err != nil {
		return nil, err
	}
	artifacts, err := resolveArtifacts(ctx, as.Spec.Artifacts, r.getActionSet(as.Namespace))
	if err != nil {
		return nil, function.Permanent(err)
	}
	start := r.clock.Now()
	if as.Status.StartTime != nil {
		start = as.Status.StartTime.Time
	}
	return &runner{r: r, as: as, bp: bp, clients: clients, req: run.Request{
		Blueprint: c.plan,
		Action:    as.Spec.Action,
		Resume:    resumeState(as.Status),
		Inputs: run.Inputs{
			Object:    tgt.object,
			Workload:  tgt.workload,
			Params:    params,
			Artifacts: artifacts,
			Location:  locationVar(loc),
			Action: celenv.Action{Name: as.Spec.Action, Blueprint: as.Spec.Blueprint.Name, ActionSet: as.Name,
				Namespace: as.Namespace, UID: string(as.UID), StartTime: start},
			Target:           targetRef(as),
			ResolvedLocation: loc,
		},
	}}, nil
}
