package functions

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// exportSource is restore's claimSource for from: export. The claim
// starts empty; once it is bound, a mover pod restores the kopia snapshot
// into it and verifies what it wrote.
type exportSource struct {
	rt      *function.Runtime
	loc     *v1alpha1.Location
	creds   *moverCredentials
	exports map[string]ExportRecord // by namespace/claim of the source
	verify  float64
	timeout time.Duration // of each mover, not of the binding
}

var _ claimSource = exportSource{}

// dataSource is none: the data comes after binding.
func (s exportSource) dataSource(context.Context, restoreTarget) (*corev1.TypedLocalObjectReference, error) {
	return nil, nil
}

// consumes is true: the mover pod mounts the claim, so it binds a
// WaitForFirstConsumer claim, which would otherwise stay empty.
func (s exportSource) consumes() bool { return true }

// bound restores the export of t's source claim into t; for a
// WaitForFirstConsumer claim, the mover pod is what binds it.
func (s exportSource) bound(ctx context.Context, t restoreTarget) error {
	exp, ok := s.exports[t.rec.Namespace+"/"+t.SourcePVC]
	if !ok {
		return fmt.Errorf("no export of claim %s/%s in the restore point", t.rec.Namespace, t.SourcePVC)
	}
	job := moverJob{
		mode: mover.ModeRestore, namespace: t.Namespace, claim: t.Name,
		name: s.rt.Names.Name("restore-" + t.Name), timeout: s.timeout,
		request: mover.Request{Location: s.loc.Spec, SnapshotID: exp.SnapshotID, VerifyPercent: s.verify},
		progress: func(done, total int64) {
			s.rt.Progress.Report(progressOf(0, 1, done, total))
		},
	}
	line, err := runMover(ctx, s.rt, s.creds, job)
	if err != nil {
		return fmt.Errorf("restore export %s into claim %s: %w", exp.SnapshotID, t, err)
	}
	s.rt.Message(fmt.Sprintf("restored %s into %s: %d files, %d bytes, verified %.0f%% of files", exp.SnapshotID, t, line.Result.Files, line.Result.BytesTotal, s.verify))
	return nil
}

// exportsBySource indexes exports by namespace/claim of their source.
func exportsBySource(exports []ExportRecord) map[string]ExportRecord {
	m := make(map[string]ExportRecord, len(exports))
	for _, e := range exports {
		m[e.Namespace+"/"+e.PVC] = e
	}
	return m
}
