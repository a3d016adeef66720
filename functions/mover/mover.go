// Package mover is the data mover's side of an export or a restore: what
// `snapflow mover export|restore` does inside a mover pod, and the line
// protocol through which it tells the export and restore functions its
// progress and result. The request travels in an environment variable
// (it holds no secret); credentials come from the environment or mounted
// files (see repository.CredentialsFromEnv), never from the command line.
package mover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// RequestEnv holds the JSON Request in a mover pod.
const RequestEnv = "SNAPFLOW_MOVER_REQUEST"

// Modes of a mover.
const (
	ModeExport  = "export"  // snapshot the volume at Dir
	ModeRestore = "restore" // restore SnapshotID into Dir and verify it
	ModeRecord  = "record"  // store RestorePoint; no volume
	ModeForget  = "forget"  // delete SnapshotIDs and their restore points; no volume
	// ModePutResources stores the resource bundle mounted at BundleDir.
	ModePutResources = "put-resources"
	// ModeGetResources prints resource bundle SnapshotID, sealed.
	ModeGetResources = "get-resources"
)

// Modes lists every mode, for the command line.
var Modes = []string{ModeExport, ModeRestore, ModeRecord, ModeForget, ModePutResources, ModeGetResources}

// Request says what a mover does.
type Request struct {
	Location v1alpha1.LocationSpec `json:"location"`
	// Source identifies the exported volume across exports, so each one is
	// incremental against the previous of the same source.
	Source Source `json:"source"`
	// Dir is the volume's mount path in the pod.
	Dir string `json:"dir"`
	// ConfigDir holds kopia's config and cache.
	ConfigDir string `json:"configDir"`
	// SnapshotID is the kopia snapshot to restore (restore only).
	SnapshotID string `json:"snapshotID,omitempty"`
	// VerifyPercent of the restored files' content is read back (restore
	// only); every directory always is.
	VerifyPercent float64 `json:"verifyPercent,omitempty"`
	// Parallel uploads; 0 means one per CPU the pod may use.
	Parallel int `json:"parallel,omitempty"`
	// RestorePoint to store (record only).
	RestorePoint *repository.RestorePoint `json:"restorePoint,omitempty"`
	// SnapshotIDs to delete (forget only).
	SnapshotIDs []string `json:"snapshotIDs,omitempty"`
	// BundleDir holds the resource bundle (put-resources only); empty
	// means BundleDir.
	BundleDir string `json:"bundleDir,omitempty"`
}

// Source is a kopia snapshot source: who exported which volume.
type Source struct {
	Host string `json:"host"` // e.g. the cluster
	User string `json:"user"` // e.g. the namespace
	Path string `json:"path"` // e.g. the claim
}

// Line is one line the mover writes on standard output: progress while it
// works, then a result (per mode) or an error.
type Line struct {
	Progress *repository.Progress `json:"progress,omitempty"`
	// Result of export and restore.
	Result *repository.Result `json:"result,omitempty"`
	// RestorePoint is the ID record stored.
	RestorePoint string `json:"restorePoint,omitempty"`
	// Forgotten is what forget deleted.
	Forgotten *repository.Forgotten `json:"forgotten,omitempty"`
	// Resources is get-resources' bundle, sealed (see SealBundle).
	Resources string `json:"resources,omitempty"`
	Error     string `json:"error,omitempty"`
	// Permanent marks an error a retry cannot fix, such as a wrong
	// password.
	Permanent bool `json:"permanent,omitempty"`
}

// RequestFromEnv reads the request a mover pod was given.
func RequestFromEnv() (Request, error) {
	raw := os.Getenv(RequestEnv)
	if raw == "" {
		return Request{}, fmt.Errorf("%s is not set: the mover runs in a pod made by the export or restore function", RequestEnv)
	}
	var req Request
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		return Request{}, fmt.Errorf("%s: %w", RequestEnv, err)
	}
	return req, nil
}

// Done reports whether l is the final, successful line of mode: it
// carries that mode's result, so a caller may read it. A line of another
// mode's kind is not done: the mover is outside the controller's trust.
func (l Line) Done(mode string) bool {
	if l.Error != "" {
		return false
	}
	switch mode {
	case ModeExport, ModeRestore, ModePutResources:
		return l.Result != nil
	case ModeGetResources:
		return l.Resources != ""
	case ModeRecord:
		return l.RestorePoint != ""
	case ModeForget:
		return l.Forgotten != nil
	}
	return false
}

// Run does what req asks in mode, writing Lines to out. The returned error
// has also been written as the last Line.
func Run(ctx context.Context, mode string, req Request, creds repository.Credentials, out io.Writer) error {
	w := &lineWriter{out: out}
	last, err := run(ctx, mode, req, creds, w.progress)
	if err != nil {
		permanent := errors.Is(err, repository.ErrWrongPassword) || errors.Is(err, repository.ErrNotRepository) || errors.Is(err, errBadRequest)
		w.write(Line{Error: err.Error(), Permanent: permanent})
		return err
	}
	w.write(last)
	return nil
}

// errBadRequest marks a request no retry can fix.
var errBadRequest = errors.New("bad mover request")

func run(ctx context.Context, mode string, req Request, creds repository.Credentials, progress func(repository.Progress)) (Line, error) {
	if err := checkRequest(mode, req); err != nil {
		return Line{}, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	st, err := repository.NewStorage(ctx, req.Location, creds, mode == ModeExport || mode == ModePutResources)
	if err != nil {
		return Line{}, fmt.Errorf("open the Location's storage: %w", err)
	}
	rep, err := repository.Open(ctx, st, creds.Password, req.ConfigDir)
	if err != nil {
		return Line{}, fmt.Errorf("open the repository: %w", err)
	}
	defer rep.Close(context.WithoutCancel(ctx))
	switch mode {
	case ModeExport:
		src := snapshot.SourceInfo{Host: req.Source.Host, UserName: req.Source.User, Path: req.Source.Path}
		res, err := repository.Upload(ctx, rep, req.Dir, src, req.Parallel, progress)
		return Line{Result: &res}, err
	case ModeRestore:
		res, err := repository.Restore(ctx, rep, req.SnapshotID, req.Dir, progress)
		if err != nil {
			return Line{}, err
		}
		if err := repository.Verify(ctx, rep, req.SnapshotID, req.VerifyPercent); err != nil {
			return Line{}, fmt.Errorf("verify snapshot %s: %w", req.SnapshotID, err)
		}
		return Line{Result: &res}, nil
	case ModePutResources:
		return putResources(ctx, rep, req)
	case ModeGetResources:
		return getResources(ctx, rep, req, creds.Password)
	case ModeRecord:
		id, err := repository.PutRestorePoint(ctx, rep, *req.RestorePoint)
		return Line{RestorePoint: id}, err
	default: // ModeForget
		f, err := repository.ForgetSnapshots(ctx, rep, req.SnapshotIDs)
		return Line{Forgotten: &f}, err
	}
}

// checkRequest checks that req has what mode needs.
func checkRequest(mode string, req Request) error {
	switch {
	case !slices.Contains(Modes, mode):
		return fmt.Errorf("mode %q is not one of %s", mode, strings.Join(Modes, ", "))
	case (mode == ModeRestore || mode == ModeGetResources) && req.SnapshotID == "":
		return fmt.Errorf("%s needs a snapshotID", mode)
	case mode == ModeRecord && req.RestorePoint == nil:
		return errors.New("record needs a restorePoint")
	case mode == ModeForget && len(req.SnapshotIDs) == 0:
		return errors.New("forget needs snapshotIDs")
	}
	return nil
}

// progressEvery throttles progress lines: often enough for a moving bar,
// rarely enough to keep the pod log small.
const progressEvery = time.Second

// lineWriter writes Lines, one JSON object each, throttling progress.
type lineWriter struct {
	mu   sync.Mutex
	out  io.Writer
	last time.Time
}

func (w *lineWriter) progress(p repository.Progress) {
	w.mu.Lock()
	due := time.Since(w.last) >= progressEvery
	if due {
		w.last = time.Now()
	}
	w.mu.Unlock()
	if due {
		w.write(Line{Progress: &p})
	}
}

func (w *lineWriter) write(l Line) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := json.Marshal(l)
	if err != nil {
		return // Line holds only numbers and strings
	}
	_, _ = w.out.Write(append(b, '\n'))
}
