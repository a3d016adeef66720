package repository

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/maintenance"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/snapshotmaintenance"
)

// Forgotten counts what ForgetSnapshots deleted.
type Forgotten struct {
	RestorePoints int `json:"restorePoints"`
	Snapshots     int `json:"snapshots"`
}

// ForgetSnapshots deletes the kopia snapshots ids and every restore point
// that lists one of them; a restore point missing a snapshot could not be
// restored anyway. Snapshots another remaining restore point lists are
// kept. IDs already gone count as done, so running it twice is harmless.
// The data is freed by Maintain, not here.
func ForgetSnapshots(ctx context.Context, rep repo.Repository, ids []string) (Forgotten, error) {
	var out Forgotten

	existing, err := existingSnapshots(ctx, rep, ids)
	if err != nil {
		return out, err
	}

	all, err := ListRestorePoints(ctx, rep)
	if err != nil {
		return out, err
	}

	for _, rp := range all {
		if !listsAny(rp, ids) {
			continue
		}

		if err := DeleteRestorePoint(ctx, rep, rp.ID); err != nil {
			return out, err
		}

		out.RestorePoints++
	}

	// Deleting the restore points deleted some of them already.
	left, err := existingSnapshots(ctx, rep, existing)
	if err != nil {
		return out, err
	}

	err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "snapflow forget snapshots"},
		func(ctx context.Context, w repo.RepositoryWriter) error {
			for _, id := range left {
				if err := w.DeleteManifest(ctx, manifest.ID(id)); err != nil {
					return fmt.Errorf("delete snapshot %s: %w", id, err)
				}
			}

			return nil
		})
	if err != nil {
		return out, fmt.Errorf("forget snapshots: %w", err)
	}

	out.Snapshots = len(existing)

	return out, nil
}

func listsAny(rp RestorePoint, ids []string) bool {
	for _, sid := range rp.Snapshots {
		if slices.Contains(ids, sid) {
			return true
		}
	}

	return false
}

// existingSnapshots returns those of ids that name a snapshot.
func existingSnapshots(ctx context.Context, rep repo.Repository, ids []string) ([]string, error) {
	var out []string

	for _, id := range ids {
		_, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(id))
		if errors.Is(err, snapshot.ErrSnapshotNotFound) {
			continue
		}

		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", id, err)
		}

		out = append(out, id)
	}

	return out, nil
}

// Expired returns the restore points retention deletes: all but the newest
// keep of each source, blueprint, action and object. rps must be newest first, as
// ListRestorePoints returns them.
func Expired(rps []RestorePoint, keep int) []RestorePoint {
	seen := map[string]int{}

	var out []RestorePoint

	for _, rp := range rps {
		key := rp.Source + "\x00" + rp.Blueprint + "\x00" + rp.Action + "\x00" + rp.Object.Kind + "\x00" + rp.Object.Namespace + "\x00" + rp.Object.Name

		seen[key]++
		if seen[key] > keep {
			out = append(out, rp)
		}
	}

	return out
}

// Maintain runs kopia's full maintenance: snapshot garbage collection,
// index compaction and deleting packs nothing references. With kopia's
// full safety, data is collected only after it has been unreferenced for
// a day, and its packs freed in a later run, so an export running right
// now is never damaged. unsafe drops those margins; it must only run when
// nothing else writes to the repository. Ownership checks are skipped: the movers open the
// repository from pods whose host names change, so no one owns it.
func Maintain(ctx context.Context, rep repo.Repository, unsafe bool) error {
	dr, ok := rep.(repo.DirectRepository)
	if !ok {
		return errors.New("maintenance needs a direct repository connection")
	}

	safety := maintenance.SafetyFull
	if unsafe {
		safety = maintenance.SafetyNone
	}

	err := repo.DirectWriteSession(ctx, dr, repo.WriteSessionOptions{Purpose: "snapflow maintenance"},
		func(ctx context.Context, w repo.DirectRepositoryWriter) error {
			return snapshotmaintenance.Run(ctx, w, maintenance.ModeFull, true, safety)
		})
	if err != nil {
		return fmt.Errorf("kopia maintenance: %w", err)
	}

	return nil
}
