package repository

import (
	"context"
	"fmt"
	"time"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"
)

// OrphanGrace is how old a snapshot no restore point lists must be before
// retention deletes it: an export stores its snapshots first and its
// restore point after them, so a younger one may belong to a run still
// going.
const OrphanGrace = 24 * time.Hour

// Orphans returns the IDs of the snapshots that no restore point lists and
// that started more than grace before the repository's time: what failed
// or retried exports left behind, which no retention would otherwise ever
// delete.
func Orphans(ctx context.Context, rep repo.Repository, grace time.Duration) ([]string, error) {
	rps, err := ListRestorePoints(ctx, rep)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, rp := range rps {
		for _, id := range rp.Snapshots {
			listed[id] = true
		}
	}
	ids, err := snapshot.ListSnapshotManifests(ctx, rep, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	mans, err := snapshot.LoadSnapshots(ctx, rep, ids)
	if err != nil {
		return nil, fmt.Errorf("load snapshots: %w", err)
	}
	cutoff := rep.Time().Add(-grace)
	var out []string
	for _, m := range mans {
		if !listed[string(m.ID)] && m.StartTime.ToTime().Before(cutoff) {
			out = append(out, string(m.ID))
		}
	}
	return out, nil
}
