// Package failpoint stops the process at a named point, as a crash would,
// so the crash tests can kill the controller at an exact place inside a
// phase instead of racing a signal against it.
//
// Points are off unless the environment variable SNAPFLOW_FAILPOINT names
// them (comma-separated) when the process starts; then reaching one kills
// the process with SIGKILL: no deferred call, cleanup or status write runs.
// A point written "name=term" instead sends the process SIGTERM, once, and
// goes on: a graceful shutdown, as in a rolling update, at that place.
// Only the tests set it. The points are the constants below; each says
// where it is.
package failpoint

import (
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// EnvVar names the points to crash at, comma-separated.
const EnvVar = "SNAPFLOW_FAILPOINT"

// The points, named after the function and the moment.
const (
	// QuiesceFrozen is after the freeze command ran, before the phase ends.
	QuiesceFrozen = "quiesce/frozen"
	// QuiesceScaled is after the workload was scaled to 0, before the
	// phase ends.
	QuiesceScaled = "quiesce/scaled"
	// SnapshotCreated is after the VolumeSnapshots were created, before
	// any was seen cut or ready.
	SnapshotCreated = "snapshot/created"
	// CloneCreated is after the clone claims were created, before any was
	// seen bound.
	CloneCreated = "cloneReadOnly/created"
	// ExportUploading is when the controller has read an export mover's
	// first progress line: the mover is uploading.
	ExportUploading = "export/uploading"
	// RestorePointRecorded is after the mover stored the restore point,
	// before the phase ends.
	RestorePointRecorded = "export/recorded"
	// RestoreMoving is when the controller has read a restore mover's
	// first progress line: the mover is writing the claim.
	RestoreMoving = "restore/moving"
)

// Term is the suffix of a point that shuts down gracefully.
const Term = "=term"

var enabled = sync.OnceValue(func() []string {
	v := os.Getenv(EnvVar)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
})

var terminated sync.Once

// Hit kills or terminates the process if the point is enabled; otherwise
// it does nothing.
func Hit(point string) {
	points := enabled()
	term, kill := slices.Contains(points, point+Term), slices.Contains(points, point)
	if !term && !kill {
		return
	}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		os.Exit(137)
	}
	if term {
		terminated.Do(func() { _ = self.Signal(syscall.SIGTERM) })
		return
	}
	_ = self.Kill()
	os.Exit(137) // not reached: SIGKILL ends the process first
}
