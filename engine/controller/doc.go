// Package controller is the ActionSet controller: it resolves an
// ActionSet's blueprint (compiled once per blueprint generation), target
// workload, location and input artifacts, runs the action through
// run.Executor in a runner goroutine, and records checkpoints, progress,
// the outcome and phase Events in the ActionSet's status.
//
// Reconcile is level-triggered and short: the runners own the running
// actions (one per ActionSet UID, bounded by a concurrency limit) and
// checkpoint into status themselves; when a run ends its runner enqueues
// the ActionSet so the final status converges. A restarted controller
// resumes a Running ActionSet from the phase records in its status.
//
// One concern per file: reconciler.go (the Reconcile steps), blueprints.go
// (compile cache and Blueprint status), target.go (the target workload),
// inputs.go (location, artifacts, params), runners.go (the runner
// manager), runner.go (one run), status.go (pure status conversion),
// events.go (phase Events) and manager.go (building the manager).
//
// The controller knows functions only through engine/function: cmd/ passes
// the Registry in Options (there is no default), and podexec, the exec
// client functions get on their Runtime, is built here.
package controller
