package functions

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/snapflow/snapflow/engine/function"
)

// localExec is a fake PodExec that runs the command on this machine, so
// the watchdog and release scripts are exercised by a real shell.
type localExec struct{}

func (localExec) Exec(ctx context.Context, req function.ExecRequest) error {
	cmd := exec.CommandContext(ctx, req.Command[0], req.Command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = req.Stdin, req.Stdout, req.Stderr
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		return &function.ExitError{Code: exit.ExitCode()}
	} else if err != nil {
		return err
	}
	return nil
}

// holdRuntime is a Runtime whose holds are recorded in order with the
// exec calls made so far, to check that the hold comes before the freeze.
func holdRuntime(t *testing.T, ex function.PodExec) (*function.Runtime, *[]string) {
	t.Helper()
	kube := fake.NewClientset(runningPod("shop", "db-0", "db"))
	rt, _ := clusterRuntime(function.Clients{Kube: kube, Exec: ex})
	var holds []string
	rt.Hold = func(_ context.Context, key string) error { holds = append(holds, key); return nil }
	return rt, &holds
}

func quiesceArgs(extra map[string]any) map[string]any {
	args := map[string]any{
		"mode": "exec", "namespace": "shop", "pod": "db-0", "container": "",
		"command": []any{"freeze"}, "releaseCommand": []any{"thaw", "--all"},
		"maxHold": "90s", "kind": "", "name": "", "timeout": "5m",
	}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func TestQuiesceFakeExecStartsWatchdogThenHoldsThenFreezes(t *testing.T) {
	ex := &fakeExecRecorder{}
	rt, holds := holdRuntime(t, ex)
	out, err := Quiesce().Invoke(t.Context(), rt, quiesceArgs(nil))
	if err != nil {
		t.Fatal(err)
	}
	if out["mode"] != "exec" || len(*holds) != 1 || len(ex.got) != 2 {
		t.Fatalf("outputs %v, holds %v, execs %d: want exec mode, one hold, two execs", out, *holds, len(ex.got))
	}
	watchdog, freeze := ex.got[0], ex.got[1]
	if watchdog.Container != "db" || !strings.Contains(strings.Join(watchdog.Command, " "), "sleep") {
		t.Errorf("first exec %v in %q, want the watchdog in the pod's first container", watchdog.Command, watchdog.Container)
	}
	if got := watchdog.Command[len(watchdog.Command)-3:]; got[0] != "90" || got[1] != "thaw" || got[2] != "--all" {
		t.Errorf("watchdog arguments end %v, want the hold in seconds, then the release command", got)
	}
	if strings.Join(freeze.Command, " ") != "freeze" {
		t.Errorf("second exec %v, want the freeze command", freeze.Command)
	}
	if !strings.Contains((*holds)[0], `"release":["thaw","--all"]`) {
		t.Errorf("hold key %s does not carry the release command", (*holds)[0])
	}
}

func TestQuiesceFakeFreezeFailureSaysWhyAndStaysHeld(t *testing.T) {
	ex := &failSecond{fakeExecRecorder: fakeExecRecorder{stderr: "database is read-only"}}
	rt, holds := holdRuntime(t, ex)
	_, err := Quiesce().Invoke(t.Context(), rt, quiesceArgs(nil))
	if err == nil || !strings.Contains(err.Error(), "database is read-only") || !strings.Contains(err.Error(), "code 3") {
		t.Fatalf("error %v, want the exit code and stderr", err)
	}
	// The engine releases pending holds when the phase fails.
	if len(*holds) != 1 {
		t.Errorf("holds %v, want the hold registered before the freeze ran", *holds)
	}
}

// failSecond is a fake PodExec whose second call (the freeze) exits 3.
type failSecond struct {
	fakeExecRecorder
	calls int
}

func (f *failSecond) Exec(ctx context.Context, req function.ExecRequest) error {
	f.calls++
	if f.calls == 2 {
		f.fakeExecRecorder.err = &function.ExitError{Code: 3}
	}
	return f.fakeExecRecorder.Exec(ctx, req)
}

func TestQuiesceFakeBadArgsArePermanent(t *testing.T) {
	for name, extra := range map[string]map[string]any{
		"unknown mode":       {"mode": "pause"},
		"no release command": {"releaseCommand": []any{}},
		"hold under 1s":      {"maxHold": "500ms"},
		"scale without name": {"mode": "scale", "kind": "Deployment"},
	} {
		t.Run(name, func(t *testing.T) {
			rt, _ := holdRuntime(t, &fakeExecRecorder{})
			_, err := Quiesce().Invoke(t.Context(), rt, quiesceArgs(extra))
			if err == nil || !function.IsPermanent(err) {
				t.Errorf("error %v, want a permanent one", err)
			}
		})
	}
}

// TestQuiesceFakeWatchdogReleases runs the watchdog script in a real shell
// with a 1s hold: with nobody releasing, it runs the release command.
func TestQuiesceFakeWatchdogReleases(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "released")
	rt, holds := holdRuntime(t, localExec{})
	args := quiesceArgs(map[string]any{"command": []any{"true"}, "releaseCommand": []any{"touch", marker}, "maxHold": "1s"})
	if _, err := Quiesce().Invoke(t.Context(), rt, args); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = releaseQuiesce(context.Background(), rt, (*holds)[0]) })
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := os.Stat(marker)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the watchdog did not run the release command: %v", err)
	}
}

// TestQuiesceFakeReleaseStopsWatchdog releases through the key alone, as a
// restarted controller would: the watchdog process is gone afterwards, so
// it cannot run the release command again.
func TestQuiesceFakeReleaseStopsWatchdog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "releases")
	rt, holds := holdRuntime(t, localExec{})
	args := quiesceArgs(map[string]any{"command": []any{"true"}, "releaseCommand": []any{"sh", "-c", "echo x >> " + log}, "maxHold": "1h"})
	if _, err := Quiesce().Invoke(t.Context(), rt, args); err != nil {
		t.Fatal(err)
	}
	var lease quiesceLease
	if err := json.Unmarshal([]byte((*holds)[0]), &lease); err != nil {
		t.Fatal(err)
	}
	pidText, err := os.ReadFile(lease.Watchdog)
	if err != nil {
		t.Fatalf("watchdog pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := holdRuntime(t, localExec{})
	if err := releaseQuiesce(t.Context(), fresh, (*holds)[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); string(got) != "x\n" {
		t.Errorf("release ran %q, want once", got)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return !alive(pid), nil
	})
	if err != nil {
		t.Errorf("watchdog %d still alive after release: %v", pid, err)
	}
	if _, err := os.Stat(lease.Watchdog); !os.IsNotExist(err) {
		t.Errorf("pid file %s left behind: %v", lease.Watchdog, err)
	}
}

// alive tells whether process pid runs; a zombie, killed but not yet
// reaped by its new parent, does not.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}
