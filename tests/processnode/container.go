package processnode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// proc is one started container process.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	env     []string
	workDir string
	done    chan struct{} // closed once the process is reaped
	code    int32         // exit code, 128+signal when killed
}

// startProcess starts `selfExe container-init ...` in a new mount namespace
// and process group, with stdout and stderr appended to logPath.
func startProcess(selfExe string, spec InitSpec, env []string, logPath string) (*proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close() // the child holds its own copy
	cmd := exec.Command(selfExe, ContainerInitArgs(spec)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS,
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", selfExe, err)
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, env: env, workDir: spec.WorkingDir, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		p.code = exitCode(cmd.ProcessState)
		close(p.done)
	}()
	return p, nil
}

// exitCode maps a wait status to a container exit code (128+signal when
// the process was killed, as container runtimes report it).
func exitCode(ps *os.ProcessState) int32 {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ps.ExitCode())
}

// signal sends sig to the process group of p (never to anything by name).
func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := syscall.Kill(-p.pid, sig); err != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logPath is where container name of the pod in dir logs; previous is the
// log of the attempt before the current one.
func logPath(dir, name string, previous bool) string {
	if previous {
		return filepath.Join(dir, "logs", name+".previous.log")
	}
	return filepath.Join(dir, "logs", name+".log")
}

// rotateLog keeps the last attempt's log as the previous log.
func rotateLog(dir, name string) error {
	cur := logPath(dir, name, false)
	if _, err := os.Stat(cur); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.Rename(cur, logPath(dir, name, true)); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return nil
}

// logTail returns up to max bytes of the end of a log file, for the
// FallbackToLogsOnError termination message.
func logTail(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max64(fi.Size()-max, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return ""
	}
	return string(b)
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// attemptOutcome is how one container attempt ended.
type attemptOutcome int

const (
	attemptExited      attemptOutcome = iota // ran (or failed to start) and ended
	attemptConfigError                       // could not be configured; retried without a restart
	attemptStopped                           // the pod is stopping
)

// runAttempt starts container c once and waits for it; it records every
// state change in the pod worker's status.
func (w *podWorker) runAttempt(c *corev1.Container, isInit bool) (attemptOutcome, int32) {
	env, err := buildEnv(w.ctx, w.envContext(), c)
	if err != nil {
		w.setState(c.Name, isInit, func(s *corev1.ContainerStatus) {
			s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CreateContainerConfigError", Message: err.Error(),
			}}
		})
		return attemptConfigError, 0
	}
	now := nowSeconds()
	argv, err := resolveArgv(c, env)
	if err == nil {
		err = rotateLog(w.dir, c.Name)
	}
	var p *proc
	if err == nil {
		p, err = w.start(c, env, argv)
		if p == nil && err == nil {
			return attemptStopped, 0
		}
	}
	if err != nil {
		w.setState(c.Name, isInit, func(s *corev1.ContainerStatus) {
			s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now,
			}}
		})
		return attemptExited, 128
	}
	started := nowSeconds()
	w.setState(c.Name, isInit, func(s *corev1.ContainerStatus) {
		t := true
		s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
		s.Started, s.Ready = &t, true
		s.ContainerID = fmt.Sprintf("processnode://%d", p.pid)
	})
	<-p.done
	reason, msg := "Completed", ""
	if p.code != 0 {
		reason = "Error"
		if c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
			msg = logTail(logPath(w.dir, c.Name, false), 2048)
		}
	}
	w.setState(c.Name, isInit, func(s *corev1.ContainerStatus) {
		f := false
		s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: p.code, Reason: reason, Message: msg, StartedAt: started, FinishedAt: nowSeconds(),
			ContainerID: s.ContainerID,
		}}
		s.Started, s.Ready = &f, false
	})
	return attemptExited, p.code
}

// start starts the process of c unless the pod is stopping (then it
// returns nil, nil), registering it so that stopping signals it.
func (w *podWorker) start(c *corev1.Container, env *envList, argv []string) (*proc, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return nil, nil
	}
	mounts, err := w.mountsFor(c)
	if err != nil {
		return nil, err
	}
	spec := InitSpec{Mounts: mounts, WorkingDir: c.WorkingDir, Command: argv}
	p, err := startProcess(w.n.cfg.SelfExe, spec, env.environ(), logPath(w.dir, c.Name, false))
	if err != nil {
		return nil, err
	}
	w.procs[c.Name] = p
	return p, nil
}

// superviseContainer runs c until it ends for good under the pod's restart
// policy or the pod stops. It reports whether c ended successfully.
func (w *podWorker) superviseContainer(c *corev1.Container, isInit bool) bool {
	for restarts := 0; ; {
		outcome, code := w.runAttempt(c, isInit)
		switch outcome {
		case attemptStopped:
			return false
		case attemptExited:
			if !shouldRestart(w.restartPolicy(isInit), code) {
				return code == 0
			}
		}
		delay := 2 * time.Second
		if outcome == attemptExited {
			delay = min(time.Second<<min(restarts, 5), 20*time.Second)
			restarts++
			w.setState(c.Name, isInit, func(s *corev1.ContainerStatus) {
				s.LastTerminationState = s.State
				s.RestartCount++
				s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
					Reason:  "CrashLoopBackOff",
					Message: fmt.Sprintf("back-off %s restarting failed container %s", delay, c.Name),
				}}
			})
		}
		select {
		case <-w.stopCh:
			return false
		case <-time.After(delay):
		}
	}
}

// restartPolicy is the pod's policy; init containers restart on failure
// unless the policy is Never.
func (w *podWorker) restartPolicy(isInit bool) corev1.RestartPolicy {
	p := w.spec.RestartPolicy
	if isInit && p == corev1.RestartPolicyAlways {
		return corev1.RestartPolicyOnFailure
	}
	return p
}

// runContainers runs the init containers in order, then all containers.
func (w *podWorker) runContainers() {
	for i := range w.spec.InitContainers {
		if !w.superviseContainer(&w.spec.InitContainers[i], true) {
			return
		}
	}
	w.mu.Lock()
	w.rs.initDone = true
	w.mu.Unlock()
	w.notify()
	done := make(chan struct{}, len(w.spec.Containers))
	for i := range w.spec.Containers {
		go func() {
			w.superviseContainer(&w.spec.Containers[i], false)
			done <- struct{}{}
		}()
	}
	for range w.spec.Containers {
		<-done
	}
}

// signalAll signals every running container process of the pod.
func (w *podWorker) signalAll(sig syscall.Signal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.procs {
		p.signal(sig)
	}
}
