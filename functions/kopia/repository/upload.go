package repository

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/fs/localfs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/policy"
	"github.com/kopia/kopia/snapshot/upload"
)

// ParallelUploadAboveSize is the size above which Upload splits a file into
// parts of this size that are hashed, encrypted and uploaded in parallel
// (kopia's policy ParallelUploadAboveSize). kopia's own default, 2 GiB,
// keeps a volume of a few large files on about one core; 64 MiB parts give
// every worker work from files as small as 128 MiB while adding one extra
// chunk boundary per 64 MiB.
const ParallelUploadAboveSize = 64 << 20

// Result describes a finished Upload or Restore.
type Result struct {
	// SnapshotID is the kopia snapshot (manifest) ID.
	SnapshotID string
	// BytesTotal is the size of all files in the snapshot.
	BytesTotal int64
	// BytesNew is what the operation wrote: for Upload the bytes written to
	// the storage after deduplication (data and metadata, encrypted), for
	// Restore the bytes written to the target directory.
	BytesNew int64
	// Files is the number of files in the snapshot.
	Files    int64
	Duration time.Duration
	// ParentSnapshotID is the earlier snapshot of the same source that
	// Upload reused unchanged files from; empty for the first upload.
	ParentSnapshotID string
}

// Upload snapshots dir as source, incremental against the latest complete
// snapshot of the same source: files whose size and modification time are
// unchanged are not read again. source is a stable identity (e.g.
// host=<cluster>, user=<namespace>, path=<pvc>), not dir. parallel is the
// number of files, and parts of large files, processed at once (0 means
// runtime.GOMAXPROCS(0): since Go 1.25 that follows the container's CPU
// limit, so a mover pod uses the CPUs it was given, not the node's).
// progress, if not nil, is called at most every
// ProgressInterval and once at the end. Any file or directory that can't be
// read fails the upload; no snapshot is saved then.
func Upload(ctx context.Context, rep repo.Repository, dir string, source snapshot.SourceInfo, parallel int, progress func(Progress)) (Result, error) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}

	return uploadDir(ctx, rep, dir, source, uploadOptions{parallel: parallel, parallelAbove: ParallelUploadAboveSize}, progress)
}

// uploadOptions are Upload's tunables; tests and benchmarks vary them.
type uploadOptions struct {
	parallel      int   // files and parts processed at once, at least 1
	parallelAbove int64 // split files larger than this; -1 never splits
}

func uploadDir(ctx context.Context, rep repo.Repository, dir string, source snapshot.SourceInfo, opts uploadOptions, progress func(Progress)) (Result, error) {
	start := time.Now()

	if source.Host == "" || source.UserName == "" || source.Path == "" {
		return Result{}, fmt.Errorf("upload %s: source needs host, user and path", dir)
	}

	root, err := localfs.Directory(dir)
	if err != nil {
		return Result{}, fmt.Errorf("upload %s: %w", dir, err)
	}

	prev, err := snapshot.FindPreviousManifests(ctx, rep, source, nil)
	if err != nil {
		return Result{}, fmt.Errorf("upload %s: find previous snapshots of %s: %w", dir, source, err)
	}

	p := &uploadProgress{t: newThrottle(progress)}

	var res Result

	err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{
		Purpose:  "snapflow upload " + source.String(),
		OnUpload: p.UploadedBytes,
	}, func(ctx context.Context, w repo.RepositoryWriter) error {
		res, err = uploadAndSave(ctx, w, root, source, opts, p, prev)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("upload %s as %s: %w", dir, source, err)
	}

	final := p.c.snapshot()
	p.t.final(final)

	res.BytesNew = final.BytesUploaded
	res.Duration = time.Since(start)

	return res, nil
}

// uploadAndSave uploads root and saves the snapshot manifest in w.
func uploadAndSave(ctx context.Context, w repo.RepositoryWriter, root fs.Directory, source snapshot.SourceInfo,
	opts uploadOptions, p *uploadProgress, prev []*snapshot.Manifest,
) (Result, error) {
	u := upload.NewUploader(w)
	u.Progress = p
	u.ParallelUploads = kopiaParallel(opts.parallel)
	u.DisableIgnoreRules = true
	u.FailFast = true

	stop := context.AfterFunc(ctx, u.Cancel)
	defer stop()

	man, err := u.Upload(ctx, root, uploadPolicy(opts), source, prev...)
	if err := uploadError(ctx, man, err); err != nil {
		return Result{}, err
	}

	man.Description = clientName

	id, err := snapshot.SaveSnapshot(ctx, w, man)
	if err != nil {
		return Result{}, fmt.Errorf("save snapshot: %w", err)
	}

	res := Result{SnapshotID: string(id)}
	if ds := man.RootEntry.DirSummary; ds != nil {
		res.BytesTotal, res.Files = ds.TotalFileSize, ds.TotalFileCount
	}

	if len(prev) > 0 && prev[0].IncompleteReason == "" {
		res.ParentSnapshotID = string(prev[0].ID)
	}

	return res, nil
}

// uploadError returns why man is not a full, error-free snapshot, if it is
// not.
func uploadError(ctx context.Context, man *snapshot.Manifest, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("upload stopped: %w", ctx.Err())
	case err != nil:
		return fmt.Errorf("kopia upload: %w", err)
	}

	if ds := man.RootEntry.DirSummary; ds != nil && ds.FatalErrorCount > 0 {
		errs := make([]error, 0, len(ds.FailedEntries))
		for _, e := range ds.FailedEntries {
			errs = append(errs, fmt.Errorf("%s: %s", e.EntryPath, e.Error))
		}

		return fmt.Errorf("%d entries failed: %w", ds.FatalErrorCount, errors.Join(errs...))
	}

	if man.IncompleteReason != "" {
		return fmt.Errorf("upload incomplete: %s", man.IncompleteReason)
	}

	return nil
}

// kopiaParallel is kopia's ParallelUploads for parallel workers. kopia's
// uploader runs ParallelUploads-1 pool workers while its own goroutine walks
// directories, so a single large file only ever gets ParallelUploads-1 parts
// at once (BenchmarkUploadLargeFile: with ParallelUploads=2, splitting a
// 256 MiB file gained nothing). One more gives `parallel` workers to data.
func kopiaParallel(parallel int) int { return parallel + 1 }

// uploadPolicy is kopia's default policy with snapflow's parallelism; it
// ignores policies stored in the repository.
func uploadPolicy(opts uploadOptions) *policy.Tree {
	files := policy.OptionalInt(kopiaParallel(opts.parallel))
	above := policy.OptionalInt64(opts.parallelAbove)

	p := *policy.DefaultPolicy
	p.UploadPolicy.MaxParallelFileReads = &files
	p.UploadPolicy.ParallelUploadAboveSize = &above

	return policy.BuildTree(map[string]*policy.Policy{".": &p}, policy.DefaultPolicy)
}
