package repository

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/kopia/kopia/snapshot/upload"
)

// ProgressInterval is the least time between two progress calls, apart
// from the final one.
const ProgressInterval = 250 * time.Millisecond

// Progress is a running count of an Upload or Restore.
//
// For Upload, BytesHashed and FilesHashed count files read and hashed plus
// files reused unchanged from the previous snapshot, so they reach the
// estimates at the end; a symlink counts as a file as long as its target
// name. BytesUploaded counts bytes written to the storage after
// deduplication and encryption. For Restore, BytesHashed and
// FilesHashed count restored files, BytesUploaded the bytes written to dir.
// Upload's estimates come from kopia's adaptive estimator, which runs
// alongside the upload: it takes the used bytes and inodes of the
// filesystem holding dir (exact for the mover's dedicated volume clone) and
// walks the tree instead when that says fewer than 300,000 files. Restore's
// come from the snapshot's summary.
type Progress struct{ BytesHashed, BytesUploaded, FilesHashed, BytesEstimated, FilesEstimated int64 }

// throttle calls fn at most once per interval, never concurrently; the
// final call always goes through.
type throttle struct {
	fn       func(Progress)
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	last time.Time
}

func newThrottle(fn func(Progress)) *throttle {
	return &throttle{fn: fn, interval: ProgressInterval, now: time.Now}
}

// maybe reports get() unless a report is running or was made recently.
func (t *throttle) maybe(get func() Progress) {
	if t.fn == nil || !t.mu.TryLock() {
		return
	}
	defer t.mu.Unlock()

	now := t.now()
	if !t.last.IsZero() && now.Sub(t.last) < t.interval {
		return
	}

	t.last = now
	t.fn(get())
}

// final always reports p.
func (t *throttle) final(p Progress) {
	if t.fn == nil {
		return
	}

	t.mu.Lock()
	defer t.mu.Unlock()

	t.last = t.now()
	t.fn(p)
}

// counters are the atomics behind a Progress.
type counters struct {
	bytesHashed, bytesUploaded, filesHashed, bytesEstimated, filesEstimated atomic.Int64
}

func (c *counters) snapshot() Progress {
	return Progress{
		BytesHashed:    c.bytesHashed.Load(),
		BytesUploaded:  c.bytesUploaded.Load(),
		FilesHashed:    c.filesHashed.Load(),
		BytesEstimated: c.bytesEstimated.Load(),
		FilesEstimated: c.filesEstimated.Load(),
	}
}

// uploadProgress adapts kopia's upload.Progress to counters and a throttle.
type uploadProgress struct {
	upload.NullUploadProgress

	c counters
	t *throttle
}

var _ upload.Progress = (*uploadProgress)(nil)

func (p *uploadProgress) report() { p.t.maybe(p.c.snapshot) }

// Enabled turns on kopia's size estimation when someone wants progress.
func (p *uploadProgress) Enabled() bool { return p.t.fn != nil }

func (p *uploadProgress) CachedFile(_ string, size int64) {
	p.c.bytesHashed.Add(size)
	p.c.filesHashed.Add(1)
	p.report()
}

func (p *uploadProgress) HashedBytes(n int64) {
	p.c.bytesHashed.Add(n)
	p.report()
}

func (p *uploadProgress) FinishedHashingFile(string, int64) {
	p.c.filesHashed.Add(1)
	p.report()
}

func (p *uploadProgress) UploadedBytes(n int64) {
	p.c.bytesUploaded.Add(n)
	p.report()
}

func (p *uploadProgress) EstimatedDataSize(files, bytes int64) {
	p.c.filesEstimated.Store(files)
	p.c.bytesEstimated.Store(bytes)
	p.report()
}

// EstimationParameters asks for kopia's classic estimate, a walk of the
// tree alongside the upload. The adaptive one switches to the filesystem's
// usage for big trees, which for a volume that is a directory on a shared
// filesystem (hostPath, NFS, CephFS without quotas) is the whole disk's,
// and the bar would barely move.
func (p *uploadProgress) EstimationParameters() upload.EstimationParameters {
	return upload.EstimationParameters{Type: upload.EstimationTypeClassic}
}
