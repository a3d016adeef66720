package repository

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
	"github.com/kopia/kopia/snapshot/snapshotfs"
)

// restoreParallel is how many files Restore writes at once: 8, as the kopia
// CLI, because restoring waits on the storage's latency more than on CPU.
const restoreParallel = 8

// Restore writes snapshot snapshotID into dir, creating it when missing:
// file contents, modes, owners (files owned by other users need root) and
// modification times. Files are written to a temporary name and renamed,
// so an interrupted restore never leaves a partial file under its real
// name; kopia's atomic write makes no holes, so a sparse file takes its
// full size on the volume; existing files and directories in dir
// are overwritten, other existing files are left alone. Re-running a
// restore rewrites every file. The filesystem is synced before Restore
// returns. progress, if not nil, is called at most every ProgressInterval
// and once at the end.
func Restore(ctx context.Context, rep repo.Repository, snapshotID, dir string, progress func(Progress)) (Result, error) {
	start := time.Now()

	man, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(snapshotID))
	if err != nil {
		return Result{}, fmt.Errorf("restore snapshot %s: %w", snapshotID, err)
	}

	stats, err := restoreManifest(ctx, rep, man, dir, newThrottle(progress))
	if err != nil {
		return Result{}, fmt.Errorf("restore snapshot %s of %s to %s: %w", snapshotID, man.Source, dir, err)
	}

	if err := syncFilesystem(dir); err != nil {
		return Result{}, fmt.Errorf("restore snapshot %s: sync %s: %w", snapshotID, dir, err)
	}

	return Result{
		SnapshotID: snapshotID,
		BytesTotal: stats.RestoredTotalFileSize,
		BytesNew:   stats.RestoredTotalFileSize,
		Files:      int64(stats.RestoredFileCount),
		Duration:   time.Since(start),
	}, nil
}

func restoreManifest(ctx context.Context, rep repo.Repository, man *snapshot.Manifest, dir string, t *throttle) (restore.Stats, error) {
	root, err := snapshotfs.SnapshotRoot(rep, man)
	if err != nil {
		return restore.Stats{}, fmt.Errorf("open snapshot root: %w", err)
	}

	out := &restore.FilesystemOutput{
		TargetPath:           dir,
		OverwriteDirectories: true,
		OverwriteFiles:       true,
		OverwriteSymlinks:    true,
		WriteFilesAtomically: true,
	}
	if err := out.Init(ctx); err != nil {
		return restore.Stats{}, fmt.Errorf("prepare %s: %w", dir, err)
	}

	var estBytes, estFiles int64
	if ds := man.RootEntry.DirSummary; ds != nil {
		estBytes, estFiles = ds.TotalFileSize, ds.TotalFileCount
	}

	toProgress := func(s restore.Stats) Progress {
		return Progress{
			BytesHashed:    s.RestoredTotalFileSize,
			BytesUploaded:  s.RestoredTotalFileSize,
			FilesHashed:    int64(s.RestoredFileCount),
			BytesEstimated: estBytes,
			FilesEstimated: estFiles,
		}
	}

	cancel := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { close(cancel) })
	defer stop()

	stats, err := restore.Entry(ctx, rep, confinedOutput{out}, root, restore.Options{
		Parallel:               restoreParallel,
		RestoreDirEntryAtDepth: math.MaxInt32, // restore files, not placeholders
		Cancel:                 cancel,
		ProgressCallback: func(_ context.Context, s restore.Stats) {
			t.maybe(func() Progress { return toProgress(s) })
		},
	})
	if err != nil {
		return restore.Stats{}, fmt.Errorf("kopia restore: %w", err)
	}

	t.final(toProgress(stats))

	return stats, nil
}
