package podexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/snapflow/snapflow/engine/function"
)

// fakeKubelet is a fake apiserver that serves pods/exec over SPDY with the
// v4 remote-command protocol only, like the test cluster's node. Instead of
// running the command it writes canned output and exits with code.
type fakeKubelet struct {
	stdout, stderr string
	code           int

	mu    sync.Mutex
	query map[string][]string // of the last request
	path  string
}

func (f *fakeKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.path, f.query = r.URL.Path, r.URL.Query()
	f.mu.Unlock()
	if _, err := httpstream.Handshake(r, w, []string{"v4.channel.k8s.io"}); err != nil {
		return
	}
	streams := make(chan httpstream.Stream, 4)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	byType := map[string]httpstream.Stream{}
	for len(byType) < 3 { // error, stdout and stderr
		select {
		case s := <-streams:
			byType[s.Headers().Get(corev1.StreamType)] = s
		case <-time.After(10 * time.Second):
			return
		}
	}
	_, _ = io.WriteString(byType[corev1.StreamTypeStdout], f.stdout)
	_, _ = io.WriteString(byType[corev1.StreamTypeStderr], f.stderr)
	st := metav1.Status{Status: metav1.StatusSuccess}
	if f.code != 0 {
		st = metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(f.code)}}}}
	}
	b, _ := json.Marshal(st)
	_, _ = byType[corev1.StreamTypeError].Write(b)
}

func newFakeClient(t *testing.T, f *fakeKubelet) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg, kube)
}

func TestExecFakeKubeletStreams(t *testing.T) {
	f := &fakeKubelet{stdout: "hello\n", stderr: "warn\n"}
	c := newFakeClient(t, f)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Exec(ctx, function.ExecRequest{Namespace: "ns1", Pod: "db-0", Container: "db",
		Command: []string{"sh", "-c", "echo hello"}, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "hello\n" || stderr.String() != "warn\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != "/api/v1/namespaces/ns1/pods/db-0/exec" {
		t.Errorf("path = %s", f.path)
	}
	want := map[string][]string{"command": {"sh", "-c", "echo hello"}, "container": {"db"}, "stdout": {"true"}, "stderr": {"true"}}
	if d := cmp.Diff(f.query, want); d != "" {
		t.Errorf("query (-got +want):\n%s", d)
	}
}

func TestExecFakeKubeletExitCode(t *testing.T) {
	c := newFakeClient(t, &fakeKubelet{stderr: "boom\n", code: 3})
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// nil Stdout: discarded, yet still requested.
	err := c.Exec(ctx, function.ExecRequest{Namespace: "ns1", Pod: "db-0", Command: []string{"false"}, Stderr: &stderr})
	var ee *function.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v, want an ExitError with code 3", err)
	}
	if !strings.Contains(stderr.String(), "boom") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
