package processnode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ContainerInitCommand is the hidden subcommand of SelfExe that must call
// ContainerInit with the arguments that follow it.
const ContainerInitCommand = "container-init"

// Mount is one bind mount that ContainerInit performs.
type Mount struct {
	// Source is a host path (directory or file).
	Source string
	// Target is the path inside the container's mount namespace. A missing
	// target is created first, which creates it on the host too: the host
	// gets an empty directory (or file) at every mount path.
	Target string
	// ReadOnly remounts the bind mount read-only.
	ReadOnly bool
}

// InitSpec is what ContainerInit does: bind mounts, then chdir, then exec.
type InitSpec struct {
	Mounts     []Mount
	WorkingDir string
	// Command is the argv of the container process. Command[0] is looked up
	// in the PATH of the environment ContainerInit runs with.
	Command []string
}

// ContainerInitArgs returns the argv that follows SelfExe to run spec,
// starting with ContainerInitCommand. The format is
//
//	container-init [--bind SRC DST | --bind-ro SRC DST]... [--workdir DIR] -- CMD [ARG]...
//
// Callers wiring the hidden subcommand pass everything after
// ContainerInitCommand unchanged to ContainerInit.
func ContainerInitArgs(spec InitSpec) []string {
	args := []string{ContainerInitCommand}
	for _, m := range spec.Mounts {
		flag := "--bind"
		if m.ReadOnly {
			flag = "--bind-ro"
		}
		args = append(args, flag, m.Source, m.Target)
	}
	if spec.WorkingDir != "" {
		args = append(args, "--workdir", spec.WorkingDir)
	}
	args = append(args, "--")
	return append(args, spec.Command...)
}

// parseInitArgs is the inverse of ContainerInitArgs (without the subcommand).
func parseInitArgs(args []string) (InitSpec, error) {
	var spec InitSpec
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--bind", "--bind-ro":
			if i+2 >= len(args) {
				return InitSpec{}, fmt.Errorf("%s needs a source and a target", a)
			}
			spec.Mounts = append(spec.Mounts, Mount{Source: args[i+1], Target: args[i+2], ReadOnly: a == "--bind-ro"})
			i += 2
		case "--workdir":
			if i+1 >= len(args) {
				return InitSpec{}, errors.New("--workdir needs a directory")
			}
			spec.WorkingDir = args[i+1]
			i++
		case "--":
			spec.Command = append([]string(nil), args[i+1:]...)
			if len(spec.Command) == 0 {
				return InitSpec{}, errors.New("no command after --")
			}
			return spec, nil
		default:
			return InitSpec{}, fmt.Errorf("unknown argument %q", a)
		}
	}
	return InitSpec{}, errors.New("missing -- before the command")
}

// ContainerInit is the entry point that runs inside a container's new mount
// namespace (the node starts SelfExe with CLONE_NEWNS). args is what follows
// ContainerInitCommand, as built by ContainerInitArgs. It makes / a recursive
// slave (so nothing it mounts propagates to the host, while unmounts on the
// host still reach it), performs the bind mounts in order, changes to the
// working directory and execs the command with the current environment. It
// returns only on error.
func ContainerInit(args []string) error {
	spec, err := parseInitArgs(args)
	if err != nil {
		return fmt.Errorf("container-init: %w", err)
	}
	if len(spec.Mounts) > 0 {
		if err := checkOwnMountNamespace(); err != nil {
			return fmt.Errorf("container-init: %w", err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			return fmt.Errorf("container-init: make / a recursive slave: %w", err)
		}
		for _, m := range spec.Mounts {
			if err := bindMount(m); err != nil {
				return fmt.Errorf("container-init: %w", err)
			}
		}
	}
	dir := spec.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("container-init: create working dir: %w", err)
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("container-init: chdir: %w", err)
	}
	path, err := exec.LookPath(spec.Command[0])
	if err != nil {
		return fmt.Errorf("container-init: the command must exist on the host: %w", err)
	}
	if err := syscall.Exec(path, spec.Command, os.Environ()); err != nil {
		return fmt.Errorf("container-init: exec %s: %w", path, err)
	}
	return nil
}

// checkOwnMountNamespace refuses to mount when this process shares the
// mount namespace of its parent: mounting there would change the host.
func checkOwnMountNamespace() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("read own mount namespace: %w", err)
	}
	parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err != nil {
		return fmt.Errorf("read parent mount namespace: %w", err)
	}
	if self == parent {
		return errors.New("refusing to mount: not started in a new mount namespace (CLONE_NEWNS)")
	}
	return nil
}

// bindMount creates m.Target like m.Source (directory or empty file) and
// bind-mounts Source there, read-only if asked.
func bindMount(m Mount) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	if fi.IsDir() {
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			return fmt.Errorf("create mount point: %w", err)
		}
	} else if _, err := os.Stat(m.Target); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
			return fmt.Errorf("create mount point parent: %w", err)
		}
		f, err := os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("create mount point file: %w", err)
		}
		_ = f.Close()
	}
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount("", m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("remount %s read-only: %w", m.Target, err)
		}
	}
	return nil
}
