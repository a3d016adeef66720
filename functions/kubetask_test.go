package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

// fakeTaskCluster is a fake clientset whose pod logs are log.
func fakeTaskCluster(log string, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		return true, &runtime.Unknown{Raw: []byte(log)}, nil
	})
	return cs
}

// finishFakePod plays the kubelet: once the pod exists, it sets its status.
// The returned channel yields the outcome.
func finishFakePod(cs *fake.Clientset, ns, name string, status corev1.PodStatus) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true,
			func(ctx context.Context) (bool, error) {
				p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return false, nil
				}
				if err != nil {
					return false, err
				}
				p.Status = status
				_, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				return err == nil, err
			})
	}()
	return done
}

func terminated(phase corev1.PodPhase, code int32, reason string) corev1.PodStatus {
	return corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: taskContainer, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}},
	}}}
}

func taskArgs(extra map[string]any) map[string]any {
	args := map[string]any{"namespace": "shop", "image": "postgres:17", "command": []any{"pg_dump", "shop"},
		"serviceAccount": "", "env": map[string]any{}, "timeout": "10m"}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func assertPodGone(t *testing.T, cs *fake.Clientset, ns, name string) {
	t.Helper()
	if _, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("task pod still there (err %v)", err)
	}
}

func TestKubeTaskFakeSucceeds(t *testing.T) {
	cs := fakeTaskCluster("starting\n{\"bytes\": 42}\n")
	rt, rec := clusterRuntime(function.Clients{Kube: cs})
	name := rt.Names.Name("task")
	var created *corev1.Pod
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		created = a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		return false, nil, nil
	})
	finished := finishFakePod(cs, "shop", name, terminated(corev1.PodSucceeded, 0, "Completed"))
	out, err := KubeTask().Invoke(context.Background(), rt, taskArgs(map[string]any{
		"serviceAccount": "backup", "env": map[string]any{"B": "2", "A": "1"}, "timeout": "90s"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"log": "starting\n{\"bytes\": 42}\n", "output": map[string]any{"bytes": "42"}}
	if d := cmp.Diff(stringNumbers(out), want); d != "" {
		t.Errorf("outputs (-got +want):\n%s", d)
	}
	wantSpec := corev1.PodSpec{
		RestartPolicy:         corev1.RestartPolicyNever,
		ServiceAccountName:    "backup",
		ActiveDeadlineSeconds: ptr.To[int64](90),
		Containers: []corev1.Container{{Name: "task", Image: "postgres:17", Command: []string{"pg_dump", "shop"},
			Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}, SecurityContext: taskSecurityContext()}},
	}
	if created == nil {
		t.Fatal("no pod was created")
	}
	if d := cmp.Diff(created.Spec, wantSpec); d != "" {
		t.Errorf("pod spec (-got +want):\n%s", d)
	}
	if created.Labels[LabelFunction] != "kubeTask" || created.Labels[LabelPhase] != rt.Names.Prefix() {
		t.Errorf("labels = %v", created.Labels)
	}
	assertPodGone(t, cs, "shop", name)
	if d := cmp.Diff(rec.cleanups, []string{"shop/" + name}); d != "" {
		t.Errorf("cleanups (-got +want):\n%s", d)
	}
}

// TestKubeTaskFakeAdoptsOnResume: the pod of an interrupted run is adopted,
// not started again.
func TestKubeTaskFakeAdoptsOnResume(t *testing.T) {
	rt, _ := clusterRuntime(function.Clients{})
	name := rt.Names.Name("task")
	existing := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
		Status: terminated(corev1.PodSucceeded, 0, "Completed")}
	cs := fakeTaskCluster("{\"from\": \"first run\"}\n", existing)
	rt.Clients.Kube = cs
	out, err := KubeTask().Invoke(context.Background(), rt, taskArgs(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(out["output"], map[string]any{"from": "first run"}); d != "" {
		t.Errorf("output (-got +want):\n%s", d)
	}
	assertPodGone(t, cs, "shop", name)
}

func TestKubeTaskFakeFailures(t *testing.T) {
	cases := []struct {
		name, log, timeout string
		status             corev1.PodStatus
		want               string
	}{
		{
			name:    "failed pod reports exit code and log",
			log:     "connecting\nFATAL: no such database\n",
			timeout: "10m",
			status:  terminated(corev1.PodFailed, 3, "Error"),
			want:    "failed: phase Failed, exit code 3, Error, log: connecting\nFATAL: no such database",
		},
		{
			name:    "timeout reports why the pod waits",
			timeout: "200ms",
			status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: taskContainer,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}},
			want: "did not finish within 200ms (phase Pending, waiting, ImagePullBackOff, not found)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := fakeTaskCluster(tc.log)
			rt, _ := clusterRuntime(function.Clients{Kube: cs})
			name := rt.Names.Name("task")
			finished := finishFakePod(cs, "shop", name, tc.status)
			_, err := KubeTask().Invoke(context.Background(), rt, taskArgs(map[string]any{"timeout": tc.timeout}))
			if ferr := <-finished; ferr != nil {
				t.Fatal(ferr)
			}
			want := "task pod shop/" + name + " " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
			if function.IsPermanent(err) {
				t.Error("a failed task should be retryable")
			}
			assertPodGone(t, cs, "shop", name)
		})
	}
}

func TestKubeTaskFakeBadArgs(t *testing.T) {
	cases := map[string]struct {
		args map[string]any
		want string
	}{
		"no command": {map[string]any{"command": []any{}}, "namespace, image and command must not be empty"},
		"no image":   {map[string]any{"image": ""}, "namespace, image and command must not be empty"},
		"no timeout": {map[string]any{"timeout": "0s"}, "timeout must be positive, got 0s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cs := fakeTaskCluster("")
			rt, _ := clusterRuntime(function.Clients{Kube: cs})
			_, err := KubeTask().Invoke(context.Background(), rt, taskArgs(tc.args))
			if !function.IsPermanent(err) || err.Error() != tc.want {
				t.Fatalf("err = %v, want permanent %q", err, tc.want)
			}
			if len(cs.Actions()) != 0 {
				t.Errorf("bad args reached the cluster: %v", cs.Actions())
			}
		})
	}
}

func TestKubeTaskFakeMissingClients(t *testing.T) {
	rt, _ := clusterRuntime(function.Clients{})
	_, err := KubeTask().Invoke(context.Background(), rt, taskArgs(nil))
	if !function.IsPermanent(err) || !strings.Contains(err.Error(), "no cluster clients") {
		t.Fatalf("err = %v", err)
	}
}

func TestKubeTaskFakeReleaseDeletesThePod(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "task-1"}}
	cs := fakeTaskCluster("", pod)
	rt, _ := clusterRuntime(function.Clients{Kube: cs})
	for range 2 { // the second finds nothing to delete, which is fine
		if err := KubeTask().Release(context.Background(), rt, "shop/task-1"); err != nil {
			t.Fatal(err)
		}
	}
	assertPodGone(t, cs, "shop", "task-1")
	if err := KubeTask().Release(context.Background(), rt, "no-slash"); !function.IsPermanent(err) {
		t.Errorf("bad key: err = %v, want permanent", err)
	}
}

// TestWaitPodDoneOnAGonePod: a pod deleted before the wait began (a mover
// killed while its log was read) ends the wait at once, not at the timeout.
func TestWaitPodDoneOnAGonePod(t *testing.T) {
	// Waiting for the deadline instead fails with the context's error.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := waitPodDone(ctx, fake.NewClientset(), "app", "mover", time.Hour)
	if err == nil || !strings.Contains(err.Error(), "deleted before it finished") {
		t.Fatalf("waitPodDone on a gone pod: %v, want an error saying it was deleted", err)
	}
}

func TestTaskPodIsUnprivileged(t *testing.T) {
	rt := &function.Runtime{Names: function.NewNames("backup-x1", "uid-1", "task")}
	pod := taskPod(rt, KubeTaskArgs{Namespace: "shop", Image: "busybox", Command: []string{"true"}, Timeout: metav1.Duration{Duration: time.Minute}})
	sc := pod.Spec.Containers[0].SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		len(sc.Capabilities.Add) != 0 || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("task securityContext %+v, want no escalation, no capabilities, RuntimeDefault seccomp", sc)
	}
}
