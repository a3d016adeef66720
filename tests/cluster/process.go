package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one component the harness started. Each runs in its own
// process group, so stopping it also stops what it spawned.
type process struct {
	name    string
	bin     string
	pid     int
	logPath string
	pidPath string
	done    chan struct{} // closed when the process exits (attached mode)
	exitErr error
}

// spawn starts bin with args, logging to logs/<name>.log and recording its
// PID in pids/<name>.pid. Detached processes outlive the caller (for
// `snapflow-local up`); attached ones are reaped by a goroutine.
func spawn(dir, name, bin string, args, env []string, detached bool) (*process, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	pidPath := filepath.Join(dir, "pids", name+".pid")
	for _, d := range []string{filepath.Dir(logPath), filepath.Dir(pidPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !detached, Setsid: detached}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, bin: bin, pid: cmd.Process.Pid, logPath: logPath, pidPath: pidPath, done: make(chan struct{})}
	if err := os.WriteFile(pidPath, []byte(fmt.Sprintf("%d\n%s\n", p.pid, bin)), 0o644); err != nil {
		_ = p.kill()
		return nil, err
	}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended. Only the reaper knows:
// right after fork, /proc still shows the parent's command line, so alive()
// would wrongly say no.
func (p *process) exited() bool {
	if p.done == nil {
		return !alive(p.pid, p.bin) // recorded by an earlier run: no reaper here
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && !p.exited() {
		time.Sleep(20 * time.Millisecond) // polling the process; done may be nil
	}
	_ = p.kill()
	_ = os.Remove(p.pidPath)
}

func (p *process) kill() error {
	err := syscall.Kill(-p.pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// alive reports whether pid runs bin: a recycled PID running something
// else is not ours. Scripts (azurite-blob) run as their interpreter, so the
// first arguments are checked too. A zombie is not alive.
func alive(pid int, bin string) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if _, rest, ok := bytes.Cut(stat, []byte(") ")); ok && len(rest) > 0 && rest[0] == 'Z' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(cmdline, []byte{0})
	for _, a := range args[:min(len(args), 3)] {
		if filepath.Base(string(a)) == filepath.Base(bin) {
			return true
		}
	}
	return false
}

// pidRecord is a PID file: the PID and the binary it runs.
type pidRecord struct {
	name string
	pid  int
	bin  string
	path string
}

// readPIDs lists the PID files of dir's components.
func readPIDs(dir string) ([]pidRecord, error) {
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		return nil, err
	}
	var out []pidRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		fields := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
		pid, err := strconv.Atoi(fields[0])
		if err != nil || len(fields) < 2 {
			return nil, fmt.Errorf("malformed PID file %s", f)
		}
		out = append(out, pidRecord{name: strings.TrimSuffix(filepath.Base(f), ".pid"), pid: pid, bin: fields[1], path: f})
	}
	return out, nil
}

// checkStale refuses to start over components of an earlier run that are
// still alive, and removes PID files of ones that are gone. It never kills
// anything by name.
func checkStale(dir string) error {
	recs, err := readPIDs(dir)
	if err != nil {
		return err
	}
	var running []string
	for _, r := range recs {
		if alive(r.pid, r.bin) {
			running = append(running, fmt.Sprintf("%s (pid %d)", r.name, r.pid))
			continue
		}
		_ = os.Remove(r.path)
	}
	if len(running) > 0 {
		return fmt.Errorf("components of an earlier cluster in %s are still running: %s; stop them with `make cluster-down`",
			dir, strings.Join(running, ", "))
	}
	return nil
}

// stopRecorded stops every component recorded in dir's PID files, in the
// reverse of their start order.
func stopRecorded(dir string, grace time.Duration) error {
	recs, err := readPIDs(dir)
	if err != nil {
		return err
	}
	slices.SortStableFunc(recs, func(a, b pidRecord) int { return startIndex(b.name) - startIndex(a.name) })
	for _, r := range recs {
		if !alive(r.pid, r.bin) {
			_ = os.Remove(r.path)
			continue
		}
		p := &process{name: r.name, bin: r.bin, pid: r.pid, pidPath: r.path}
		p.stop(grace)
	}
	return nil
}
