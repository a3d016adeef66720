package functions

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/snapflow/snapflow/engine/function"
)

// fakeExecRecorder is a fake PodExec: it records each request and plays
// back canned stdout, stderr and error instead of running anything.
type fakeExecRecorder struct {
	stdout, stderr string
	err            error
	got            []function.ExecRequest
}

func (f *fakeExecRecorder) Exec(_ context.Context, req function.ExecRequest) error {
	f.got = append(f.got, req)
	for w, s := range map[io.Writer]string{req.Stdout: f.stdout, req.Stderr: f.stderr} {
		if w != nil {
			if _, err := io.WriteString(w, s); err != nil {
				return err
			}
		}
	}
	return f.err
}

// runningPod is a pod in phase Running with the given containers.
func runningPod(ns, name string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func execArgs(extra map[string]any) map[string]any {
	args := map[string]any{"namespace": "shop", "pod": "db-0", "container": "", "command": []any{"sh", "-c", "dump"}}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func TestKubeExecFakeJSONOutput(t *testing.T) {
	ex := &fakeExecRecorder{stdout: "dumping\n{\"lsn\": \"0/3000060\", \"tables\": 12}\ndone\n", stderr: "note\n"}
	rt, rec := clusterRuntime(function.Clients{Kube: fake.NewClientset(runningPod("shop", "db-0", "db", "sidecar")), Exec: ex})
	out, err := KubeExec().Invoke(context.Background(), rt, execArgs(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"stdout": "dumping\n{\"lsn\": \"0/3000060\", \"tables\": 12}\ndone\n",
		"stderr": "note\n",
		"output": map[string]any{"lsn": "0/3000060", "tables": "12"},
	}
	if d := cmp.Diff(stringNumbers(out), want); d != "" {
		t.Errorf("outputs (-got +want):\n%s", d)
	}
	// An empty container means the pod's first.
	if len(ex.got) != 1 || ex.got[0].Container != "db" || ex.got[0].Pod != "db-0" || ex.got[0].Namespace != "shop" ||
		!cmp.Equal(ex.got[0].Command, []string{"sh", "-c", "dump"}) {
		t.Errorf("exec requests = %+v", ex.got)
	}
	if got := rec.messages[len(rec.messages)-1]; got != "ran sh in pod shop/db-0 container db" {
		t.Errorf("message = %q", got)
	}
}

// stringNumbers turns the json.Numbers Invoke returns into strings, so
// outputs compare with plain literals.
func stringNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = stringNumbers(e)
		}
		return out
	case interface{ String() string }:
		return x.String()
	}
	return v
}

func TestKubeExecFakeNoJSONGivesEmptyOutput(t *testing.T) {
	ex := &fakeExecRecorder{stdout: "plain text\n"}
	rt, _ := clusterRuntime(function.Clients{Kube: fake.NewClientset(runningPod("shop", "db-0", "db", "sidecar")), Exec: ex})
	out, err := KubeExec().Invoke(context.Background(), rt, execArgs(map[string]any{"container": "sidecar"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(out["output"], map[string]any{}); d != "" {
		t.Errorf("output (-got +want):\n%s", d)
	}
	if ex.got[0].Container != "sidecar" {
		t.Errorf("container = %q", ex.got[0].Container)
	}
}

func TestKubeExecFakeFailures(t *testing.T) {
	cases := []struct {
		name      string
		pod       *corev1.Pod
		exec      *fakeExecRecorder
		args      map[string]any
		want      string
		permanent bool
	}{
		{
			name: "non-zero exit names pod, container, code and stderr",
			pod:  runningPod("shop", "db-0", "db"),
			exec: &fakeExecRecorder{stderr: "pg_dump: error: permission denied\n", err: &function.ExitError{Code: 2}},
			want: "pod shop/db-0 container db: command exited with code 2, stderr: pg_dump: error: permission denied",
		},
		{
			name: "transport error",
			pod:  runningPod("shop", "db-0", "db"),
			exec: &fakeExecRecorder{err: errors.New("upgrade failed")},
			want: "pod shop/db-0 container db: upgrade failed",
		},
		{
			name:      "unknown container",
			pod:       runningPod("shop", "db-0", "db", "sidecar"),
			args:      map[string]any{"container": "web"},
			want:      `pod shop/db-0 has no container "web"; it has db, sidecar`,
			permanent: true,
		},
		{
			name: "pod not running",
			pod:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-0"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			want: `pod shop/db-0 is not running (phase "Pending")`,
		},
		{
			name: "pod missing",
			pod:  runningPod("shop", "other", "db"),
			want: "pod shop/db-0 not found",
		},
		{
			name:      "empty command",
			pod:       runningPod("shop", "db-0", "db"),
			args:      map[string]any{"command": []any{}},
			want:      "namespace, pod and command must not be empty",
			permanent: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := tc.exec
			if ex == nil {
				ex = &fakeExecRecorder{}
			}
			rt, _ := clusterRuntime(function.Clients{Kube: fake.NewClientset(tc.pod), Exec: ex})
			_, err := KubeExec().Invoke(context.Background(), rt, execArgs(tc.args))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if function.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", function.IsPermanent(err), tc.permanent)
			}
			var ee *function.ExitError
			if tc.exec != nil && tc.exec.err != nil && errors.As(tc.exec.err, &ee) && !errors.As(err, &ee) {
				t.Errorf("err %v does not wrap the ExitError", err)
			}
		})
	}
}

func TestKubeExecFakeMissingClients(t *testing.T) {
	for name, c := range map[string]function.Clients{
		"none":    {},
		"no exec": {Kube: fake.NewClientset()},
		"no kube": {Exec: &fakeExecRecorder{}},
	} {
		t.Run(name, func(t *testing.T) {
			rt, _ := clusterRuntime(c)
			_, err := KubeExec().Invoke(context.Background(), rt, execArgs(nil))
			if !function.IsPermanent(err) || !strings.Contains(err.Error(), "no cluster clients") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
