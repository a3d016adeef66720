package processnode

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/utils/exec"
)

func TestTailOffset(t *testing.T) {
	tests := []struct {
		content string
		lines   int
		want    string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 10, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"},
		{"a\nb\nc\n", 0, ""},
		{"", 5, ""},
		{strings.Repeat("x", 40000) + "\nlast\n", 1, "last\n"},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		off, err := tailOffset(f, tc.lines)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.content[off:]; got != tc.want {
			t.Errorf("tail %d of %.20q = %q, want %q", tc.lines, tc.content, got, tc.want)
		}
	}
}

// testNode is a node without apiserver whose pod "ns1/p1" has container
// "c" running cmd (through the test binary as SelfExe) with a bind mount.
func testNode(t *testing.T, cmd []string) (*Node, *podWorker, *httptest.Server) {
	t.Helper()
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{cfg: Config{NodeName: "n1", StateDir: t.TempDir(), SelfExe: self}, workers: map[types.UID]*podWorker{}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1", Namespace: "ns1", UID: "u1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
	}
	w := newPodWorker(context.Background(), n, pod)
	n.workers[pod.UID] = w
	if err := os.MkdirAll(filepath.Join(w.dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "secret.txt"), []byte("only inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := InitSpec{
		Mounts:     []Mount{{Source: vol, Target: filepath.Join(t.TempDir(), "mnt")}},
		WorkingDir: "/tmp", Command: cmd,
	}
	p, err := startProcess(self, spec, []string{"PATH=" + os.Getenv("PATH"), "MARKER=from-container"}, logPath(w.dir, "c", false))
	if err != nil {
		t.Fatal(err)
	}
	p.workDir = spec.Mounts[0].Target
	w.procs["c"] = p
	t.Cleanup(func() {
		p.signal(9)
		<-p.done
	})
	var b []byte
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		b, _ = os.ReadFile(logPath(w.dir, "c", false))
		return strings.HasPrefix(string(b), "started\n"), nil
	}); err != nil {
		t.Fatalf("container did not start: log %q: %v", b, err)
	}
	srv := httptest.NewUnstartedServer(n.apiHandler())
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return n, w, srv
}

func TestServeLogs(t *testing.T) {
	_, _, srv := testNode(t, []string{"sh", "-c", "echo started; echo two; sleep 1; echo three"})
	get := func(query string) (int, string) {
		resp, err := srv.Client().Get(srv.URL + "/containerLogs/ns1/p1/c?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	start := time.Now()
	if code, body := get("follow=true"); code != http.StatusOK || body != "started\ntwo\nthree\n" {
		t.Errorf("follow: %d %q, want all three lines", code, body)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("follow did not end when the container exited")
	}
	if code, body := get("tailLines=1"); code != http.StatusOK || body != "three\n" {
		t.Errorf("tailLines=1: %d %q", code, body)
	}
	if code, body := get("limitBytes=5"); code != http.StatusOK || body != "start" {
		t.Errorf("limitBytes=5: %d %q", code, body)
	}
	if code, _ := get("previous=true"); code != http.StatusBadRequest {
		t.Errorf("previous without a restart: %d, want 400", code)
	}
	resp, err := srv.Client().Get(srv.URL + "/containerLogs/ns1/p1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown container: %d, want 404", resp.StatusCode)
	}
}

func execIn(t *testing.T, srv *httptest.Server, cmd []string, stdin io.Reader, tty bool) (string, string, error) {
	t.Helper()
	q := url.Values{"command": cmd, "output": {"1"}}
	if !tty {
		q.Set("error", "1")
	} else {
		q.Set("tty", "1")
	}
	if stdin != nil {
		q.Set("input", "1")
	}
	u, err := url.Parse(srv.URL + "/exec/ns1/p1/c?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Tty: tty}
	if !tty {
		opts.Stderr = &stderr
	}
	err = ex.StreamWithContext(ctx, opts)
	return stdout.String(), stderr.String(), err
}

func TestServeExec(t *testing.T) {
	_, _, srv := testNode(t, []string{"sh", "-c", "echo started; exec sleep 60"})
	out, errOut, err := execIn(t, srv, []string{"sh", "-c", "cat secret.txt; echo $MARKER; echo oops >&2"}, nil, false)
	if err != nil || out != "only inside\nfrom-container\n" || errOut != "oops\n" {
		t.Errorf("exec: stdout %q stderr %q err %v", out, errOut, err)
	}
	_, _, err = execIn(t, srv, []string{"sh", "-c", "exit 3"}, nil, false)
	var exitErr utilexec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 {
		t.Errorf("exit 3: err %v, want exit status 3", err)
	}
	out, _, err = execIn(t, srv, []string{"cat"}, strings.NewReader("ping\n"), false)
	if err != nil || out != "ping\n" {
		t.Errorf("stdin: stdout %q err %v", out, err)
	}
	out, _, err = execIn(t, srv, []string{"sh", "-c", "test -t 0 && echo tty"}, strings.NewReader(""), true)
	if err != nil || !strings.Contains(out, "tty") {
		t.Errorf("tty: stdout %q err %v", out, err)
	}
	_, _, err = execIn(t, srv, []string{"true"}, nil, false)
	if err != nil {
		t.Errorf("true: %v", err)
	}
}
