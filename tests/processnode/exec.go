package processnode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// The remote-command subprotocols served over SPDY. The apiserver
// translates kubectl's WebSocket (v5) streams into these.
const (
	protocolV4 = "v4.channel.k8s.io"
	protocolV3 = "v3.channel.k8s.io"
	protocolV2 = "v2.channel.k8s.io"
)

const (
	streamCreationTimeout = 30 * time.Second
	streamIdleTimeout     = 4 * time.Hour
)

// termSize is a terminal resize event as clients send it.
type termSize struct {
	Width, Height uint16
}

// execStreams are the SPDY streams of one exec request.
type execStreams struct {
	conn           httpstream.Connection
	stdin          io.Reader
	stdout, stderr io.Writer
	resize         io.Reader
	errStream      io.Writer
	protocol       string
}

// serveExec runs `kubectl exec` commands inside a running container's mount
// namespace (nsenter), with the container's environment and working dir.
func (n *Node) serveExec(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	q := r.URL.Query()
	cmd := q["command"]
	tty := q.Get(corev1.ExecTTYParam) == "1"
	wantIn, wantOut, wantErr := q.Get(corev1.ExecStdinParam) == "1", q.Get(corev1.ExecStdoutParam) == "1", q.Get(corev1.ExecStderrParam) == "1"
	if tty {
		wantErr = false // a terminal merges stderr into stdout
	}
	if len(cmd) == 0 || (!wantIn && !wantOut && !wantErr) {
		http.Error(w, "exec needs a command and at least one of stdin, stdout, stderr", http.StatusBadRequest)
		return
	}
	pw := n.findWorker(ns, name)
	var p *proc
	if pw != nil {
		pw.mu.Lock()
		p = pw.procs[container]
		pw.mu.Unlock()
	}
	if p == nil || !p.running() {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s is not running", container, ns, name), http.StatusBadRequest)
		return
	}
	s, err := acceptStreams(w, r, wantIn, wantOut, wantErr, tty)
	if err != nil {
		klog.FromContext(r.Context()).Error(err, "exec streams")
		return
	}
	defer s.conn.Close()
	code, err := runExec(n.cfg.SelfExe, p, cmd, s, tty)
	st := metav1.Status{Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError,
			Message: fmt.Sprintf("error executing command in container: %v", err)}
	case code != 0:
		st = metav1.Status{
			Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(int(code))}}},
		}
	}
	writeStatus(s, st)
}

// writeStatus reports the result on the error stream: JSON in v4, the
// message of a failure in older protocols.
func writeStatus(s *execStreams, st metav1.Status) {
	if s.protocol == protocolV4 {
		b, err := json.Marshal(st)
		if err == nil {
			_, _ = s.errStream.Write(b)
		}
		return
	}
	if st.Status != metav1.StatusSuccess {
		_, _ = io.WriteString(s.errStream, st.Message)
	}
}

type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

// acceptStreams negotiates the protocol, upgrades to SPDY and waits for
// the client to open the expected streams.
func acceptStreams(w http.ResponseWriter, r *http.Request, stdin, stdout, stderr, tty bool) (*execStreams, error) {
	protocol, err := httpstream.Handshake(r, w, []string{protocolV4, protocolV3, protocolV2})
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err) // Handshake answered the client
	}
	streams := make(chan streamAndReply)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		streams <- streamAndReply{Stream: st, replySent: replySent}
		return nil
	})
	if conn == nil {
		return nil, errors.New("upgrade to SPDY failed")
	}
	conn.SetIdleTimeout(streamIdleTimeout)
	expected := 1
	for _, b := range []bool{stdin, stdout, stderr, tty && protocol != protocolV2} {
		if b {
			expected++
		}
	}
	s := &execStreams{conn: conn, protocol: protocol}
	replies := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	for received := 0; received < expected; {
		select {
		case st := <-streams:
			switch st.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError:
				s.errStream = st
			case corev1.StreamTypeStdin:
				s.stdin = st
			case corev1.StreamTypeStdout:
				s.stdout = st
			case corev1.StreamTypeStderr:
				s.stderr = st
			case corev1.StreamTypeResize:
				s.resize = st
			default:
				continue
			}
			go func() {
				select {
				case <-st.replySent:
					replies <- struct{}{}
				case <-stop:
				}
			}()
		case <-replies:
			received++
		case <-timeout.C:
			conn.Close()
			return nil, errors.New("timed out waiting for the client to create streams")
		}
	}
	return s, nil
}

// runExec runs argv in p's mount namespace (nsenter, then ContainerInit for
// the working dir and the PATH lookup) and returns its exit code.
func runExec(selfExe string, p *proc, argv []string, s *execStreams, tty bool) (int32, error) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return 0, fmt.Errorf("exec needs nsenter (util-linux): %w", err)
	}
	wd := p.workDir
	if wd == "" {
		wd = "/"
	}
	args := []string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", p.pid), "--", selfExe}
	args = append(args, ContainerInitArgs(InitSpec{WorkingDir: wd, Command: argv})...)
	cmd := exec.Command(nsenter, args...)
	cmd.Env = p.env
	if tty {
		return runWithTTY(cmd, s)
	}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	var stdin io.WriteCloser
	if s.stdin != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return 0, fmt.Errorf("stdin: %w", err)
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, s.stdin)
			_ = stdin.Close()
		}()
	}
	err = cmd.Wait()
	if stdin != nil {
		_ = stdin.Close()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, fmt.Errorf("wait: %w", err)
	}
	return exitCode(cmd.ProcessState), nil
}

// runWithTTY runs cmd on a new pseudo-terminal, applying resize events.
func runWithTTY(cmd *exec.Cmd, s *execStreams) (int32, error) {
	ptmx, err := pty.Start(cmd)
	if err != nil {
		return 0, fmt.Errorf("start on a terminal: %w", err)
	}
	defer ptmx.Close()
	if s.resize != nil {
		go func() {
			dec := json.NewDecoder(s.resize)
			for {
				var size termSize
				if dec.Decode(&size) != nil {
					return
				}
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: size.Height, Cols: size.Width})
			}
		}()
	}
	if s.stdin != nil {
		go func() { _, _ = io.Copy(ptmx, s.stdin) }()
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if s.stdout != nil {
			_, _ = io.Copy(s.stdout, ptmx) // ends with EIO once the terminal is closed
		} else {
			_, _ = io.Copy(io.Discard, ptmx)
		}
	}()
	err = cmd.Wait()
	select { // drain what is buffered, unless a background process keeps the tty open
	case <-copied:
	case <-time.After(time.Second):
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, fmt.Errorf("wait: %w", err)
	}
	return exitCode(cmd.ProcessState), nil
}
