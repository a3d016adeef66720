package repository

import (
	"context"
	"errors"
	"fmt"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/snapshotfs"
)

// verifyMaxErrors is how many broken entries Verify collects before it
// stops; the error lists them.
const verifyMaxErrors = 10

// Verify reads back snapshot snapshotID: every directory is read and
// decrypted, every file's chunks are checked to exist in the index and in a
// pack blob in storage, and a random filesPercent (0-100) of the files are
// read in full, which decrypts and checks every chunk they hold.
func Verify(ctx context.Context, rep repo.Repository, snapshotID string, filesPercent float64) error {
	if filesPercent < 0 || filesPercent > 100 {
		return fmt.Errorf("verify snapshot %s: filesPercent %v is not within 0-100", snapshotID, filesPercent)
	}

	if err := verify(ctx, rep, snapshotID, filesPercent); err != nil {
		return fmt.Errorf("verify snapshot %s: %w", snapshotID, err)
	}

	return nil
}

func verify(ctx context.Context, rep repo.Repository, snapshotID string, filesPercent float64) error {
	man, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(snapshotID))
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}

	root, err := snapshotfs.SnapshotRoot(rep, man)
	if err != nil {
		return fmt.Errorf("open root: %w", err)
	}

	opts := snapshotfs.VerifierOptions{VerifyFilesPercent: filesPercent, MaxErrors: verifyMaxErrors}

	if dr, ok := rep.(repo.DirectRepository); ok {
		if opts.BlobMap, err = blob.ReadBlobMap(ctx, dr.BlobReader()); err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
	}

	v := snapshotfs.NewVerifier(ctx, rep, opts)

	res, err := v.InParallel(ctx, func(tw *snapshotfs.TreeWalker) error {
		return tw.Process(ctx, root, ".")
	})
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d broken entries: %w", res.ErrorCount, errors.Join(res.Errors...))
	}

	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}

	return nil
}
