package processnode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMain lets the test binary act as SelfExe: re-executed with
// ContainerInitCommand it runs ContainerInit like snapflow-local does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ContainerInitCommand {
		if err := ContainerInit(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func TestContainerInitArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		spec InitSpec
	}{
		{name: "command only", spec: InitSpec{Command: []string{"sleep", "10"}}},
		{name: "mounts and workdir", spec: InitSpec{
			Mounts: []Mount{
				{Source: "/state/pods/u/volumes/data", Target: "/data"},
				{Source: "/state/sa dir", Target: saMountPath, ReadOnly: true},
			},
			WorkingDir: "/data",
			Command:    []string{"sh", "-c", "echo -- --bind $(X)"},
		}},
		{name: "command looks like flags", spec: InitSpec{Command: []string{"--workdir", "--", "--bind"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := ContainerInitArgs(tc.spec)
			if args[0] != ContainerInitCommand {
				t.Fatalf("args[0] = %q, want %q", args[0], ContainerInitCommand)
			}
			got, err := parseInitArgs(args[1:])
			if err != nil {
				t.Fatalf("parseInitArgs(%q): %v", args[1:], err)
			}
			if diff := cmp.Diff(tc.spec, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInitArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "empty", args: nil, want: "missing -- before the command"},
		{name: "no command", args: []string{"--"}, want: "no command after --"},
		{name: "bind without target", args: []string{"--bind", "/a"}, want: "--bind needs a source and a target"},
		{name: "unknown flag", args: []string{"--privileged", "--", "sh"}, want: `unknown argument "--privileged"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseInitArgs(tc.args)
			if err == nil || err.Error() != tc.want {
				t.Errorf("parseInitArgs(%q) error = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) for mount namespaces")
	}
}

// TestContainerInitBindMount re-executes the test binary the way the node
// starts a container: the child sees a temp dir bind-mounted inside another
// temp dir, read-only, and the host sees only the empty mount point.
func TestContainerInitBindMount(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, outer := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(outer, "mnt", "data")
	spec := InitSpec{
		Mounts:     []Mount{{Source: src, Target: target, ReadOnly: true}},
		WorkingDir: target,
		Command:    []string{"sh", "-c", "cat hello.txt; touch x 2>/dev/null && echo writable || echo read-only; echo $GREETING"},
	}
	logFile := filepath.Join(t.TempDir(), "c.log")
	p, err := startProcess(self, spec, []string{"PATH=" + os.Getenv("PATH"), "GREETING=hi"}, logFile)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	out, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from the volume\nread-only\nhi\n"; string(out) != want || p.code != 0 {
		t.Errorf("container output = %q (exit %d), want %q (exit 0)", out, p.code, want)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		t.Fatalf("host mount point: %v", err)
	}
	if len(entries) != 0 {
		t.Errorf("host sees %d entries at the mount point, want an empty dir", len(entries))
	}
	if mounts, err := mountsUnder(outer); err != nil || len(mounts) != 0 {
		t.Errorf("host mounts under %s = %v (%v), want none", outer, mounts, err)
	}
}

// TestContainerInitRefusesHostNamespace checks the guard: without
// CLONE_NEWNS, ContainerInit must not mount anything.
func TestContainerInitRefusesHostNamespace(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "mnt")
	cmd := exec.Command(self, ContainerInitArgs(InitSpec{
		Mounts:  []Mount{{Source: t.TempDir(), Target: target}},
		Command: []string{"true"},
	})...)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(string(out), "not started in a new mount namespace") {
		t.Fatalf("ContainerInit in the host namespace: err %v, output %q; want a refusal", err, out)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point was created (%v), want nothing done", err)
	}
}

func TestExitCode(t *testing.T) {
	cmd := exec.Command("sh", "-c", "kill -KILL $$")
	_ = cmd.Run()
	if got := exitCode(cmd.ProcessState); got != 128+int32(syscall.SIGKILL) {
		t.Errorf("exitCode of a killed process = %d, want %d", got, 128+int32(syscall.SIGKILL))
	}
	cmd = exec.Command("sh", "-c", "exit 3")
	_ = cmd.Run()
	if got := exitCode(cmd.ProcessState); got != 3 {
		t.Errorf("exitCode = %d, want 3", got)
	}
}
