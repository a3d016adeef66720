package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// passedExit is the helper process's exit status past the points.
const passedExit = 3

// TestHit runs this test binary as a process that hits SnapshotCreated
// and checks how it ended: killed where the point is enabled, terminated
// where it is enabled with =term, past the points where none is.
func TestHit(t *testing.T) {
	if os.Getenv("FAILPOINT_HIT") != "" {
		Hit(CloneCreated) // not enabled: nothing happens
		Hit(SnapshotCreated)
		if !strings.Contains(os.Getenv(EnvVar), Term) {
			os.Exit(passedExit)
		}
		select {} // a terminated process waits for its signal here
	}
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	for _, tc := range []struct {
		env  string
		want syscall.Signal // 0: exits passedExit
	}{
		{EnvVar + "=" + SnapshotCreated, syscall.SIGKILL},
		{EnvVar + "=" + QuiesceFrozen + "," + SnapshotCreated + Term, syscall.SIGTERM},
		{EnvVar + "=" + QuiesceFrozen, 0},
	} {
		t.Run(tc.env, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHit$", "-test.timeout=10s")
			cmd.Env = append(os.Environ(), "FAILPOINT_HIT=1", tc.env)
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the process ended with %v, want a signal or a timeout", err)
			}
			ws := exit.Sys().(syscall.WaitStatus)
			switch {
			case tc.want != 0 && (!ws.Signaled() || ws.Signal() != tc.want):
				t.Errorf("the process ended %v, want signal %v", ws, tc.want)
			case tc.want == 0 && ws.ExitStatus() != passedExit:
				t.Errorf("the process ended %v, want exit status %d: past the points", ws, passedExit)
			}
		})
	}
}
