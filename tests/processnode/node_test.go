package processnode

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// The apiserver is faked here because this test checks the node's own
// state machine (pod phases, restarts, deletion) in seconds; the local
// cluster's e2e tests run the same code against a real apiserver.

func testPod(name, workDir string, policy corev1.RestartPolicy, script string) *corev1.Pod {
	no := false
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName: "n1", RestartPolicy: policy, AutomountServiceAccountToken: &no,
			TerminationGracePeriodSeconds: &grace,
			Volumes:                       []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{
				Name: "main", Command: []string{"sh", "-c", script},
				Env: []corev1.EnvVar{
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "WORK", Value: workDir},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: workDir}},
			}},
		},
	}
}

func waitPod(t *testing.T, c kubernetes.Interface, name string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	var getErr error
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if getErr = err; err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	}); err != nil {
		if last == nil {
			t.Fatalf("pod %s: condition not reached; never got the pod: %v (%v)", name, getErr, err)
		}
		t.Fatalf("pod %s: condition not reached; last status %+v (%v)", name, last.Status, err)
	}
	return last
}

func TestNodeRunsPods(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work") // the mount point, created on the host
	client := fake.NewClientset()
	cfg := Config{NodeName: "n1", StateDir: t.TempDir(), ListenAddr: "127.0.0.1:0",
		APIServerHost: "127.0.0.1", APIServerPort: 6443, SelfExe: self}
	n, err := New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("node not ready")
	}

	node, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := node.Status.DaemonEndpoints.KubeletEndpoint.Port; got == 0 || got != n.Port() {
		t.Errorf("kubelet port %d, want %d", got, n.Port())
	}
	if c := nodeCondition(node, corev1.NodeReady); c != corev1.ConditionTrue || len(node.Spec.Taints) != 0 {
		t.Errorf("node Ready=%s taints=%v", c, node.Spec.Taints)
	}
	if _, err := client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "n1", metav1.GetOptions{}); err != nil {
		t.Errorf("lease: %v", err)
	}

	pods := []*corev1.Pod{
		testPod("ok", work, corev1.RestartPolicyNever, `echo "hi from $POD" > $WORK/f; cat $WORK/f`),
		testPod("retry", work, corev1.RestartPolicyOnFailure, `test -f $WORK/m && exit 0; touch $WORK/m; exit 1`),
		testPod("fail", work, corev1.RestartPolicyNever, `exit 2`),
		testPod("server", work, corev1.RestartPolicyAlways, `exec sleep 600`),
		testPod("nocmd", work, corev1.RestartPolicyNever, ``),
	}
	pods[4].Spec.Containers[0].Command = nil
	for _, p := range pods {
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ok := waitPod(t, client, "ok", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if b, err := os.ReadFile(logPath(n.podDir(ok.UID), "main", false)); err != nil || string(b) != "hi from ok\n" {
		t.Errorf("log of ok: %q %v", b, err)
	}
	retry := waitPod(t, client, "retry", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if rc := retry.Status.ContainerStatuses[0].RestartCount; rc != 1 {
		t.Errorf("retry restartCount = %d, want 1", rc)
	}
	fail := waitPod(t, client, "fail", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if st := fail.Status.ContainerStatuses[0].State.Terminated; st == nil || st.ExitCode != 2 || st.Reason != "Error" {
		t.Errorf("fail state %+v", fail.Status.ContainerStatuses[0].State)
	}
	nocmd := waitPod(t, client, "nocmd", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if st := nocmd.Status.ContainerStatuses[0].State.Terminated; st == nil || st.Message != errNoCommand.Error() {
		t.Errorf("nocmd state %+v", nocmd.Status.ContainerStatuses[0].State)
	}
	server := waitPod(t, client, "server", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return p.Status.Phase == corev1.PodRunning
			}
		}
		return false
	})

	// Graceful deletion: the apiserver sets deletionTimestamp; the node
	// stops the containers and deletes the object with grace period 0.
	now := metav1.Now()
	grace := int64(1)
	server.DeletionTimestamp, server.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("default").Update(ctx, server, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var getErr error
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		_, getErr = client.CoreV1().Pods("default").Get(ctx, "server", metav1.GetOptions{})
		return apierrors.IsNotFound(getErr), nil
	}); err != nil {
		t.Fatalf("deleted pod still there: %v (%v)", getErr, err)
	}
	if _, err := os.Stat(n.podDir(server.UID)); !os.IsNotExist(err) {
		t.Errorf("state dir of the deleted pod: %v, want removed", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	node, err = client.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil || nodeCondition(node, corev1.NodeReady) != corev1.ConditionFalse {
		t.Errorf("node after Run: %v %v", nodeCondition(node, corev1.NodeReady), err)
	}
	if entries, err := os.ReadDir(work); err != nil || len(entries) != 0 {
		t.Errorf("host mount point %s: %d entries (%v), want an empty dir", work, len(entries), err)
	}
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) corev1.ConditionStatus {
	if n == nil {
		return ""
	}
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}
