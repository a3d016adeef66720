package processnode

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy corev1.RestartPolicy
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{"", 0, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 137, true},
		{corev1.RestartPolicyNever, 0, false},
		{corev1.RestartPolicyNever, 1, false},
	}
	for _, tc := range tests {
		if got := shouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%q, %d) = %v, want %v", tc.policy, tc.code, got, tc.want)
		}
	}
}

func running(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func exited(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}

func waiting(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
}

func backingOff(name string, lastCode int32) corev1.ContainerStatus {
	s := waiting(name)
	s.LastTerminationState = exited(name, lastCode).State
	return s
}

func TestPodPhase(t *testing.T) {
	two := []corev1.Container{{Name: "a"}, {Name: "b"}}
	tests := []struct {
		name     string
		policy   corev1.RestartPolicy
		init     []corev1.Container
		initSt   []corev1.ContainerStatus
		statuses []corev1.ContainerStatus
		want     corev1.PodPhase
	}{
		{name: "not started", policy: corev1.RestartPolicyAlways, want: corev1.PodPending},
		{name: "one waiting", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{running("a"), waiting("b")}, want: corev1.PodPending},
		{name: "all running", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{running("a"), running("b")}, want: corev1.PodRunning},
		{name: "one done one running", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited("a", 0), running("b")}, want: corev1.PodRunning},
		{name: "never all succeeded", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited("a", 0), exited("b", 0)}, want: corev1.PodSucceeded},
		{name: "never one failed", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited("a", 0), exited("b", 2)}, want: corev1.PodFailed},
		{name: "onfailure all succeeded", policy: corev1.RestartPolicyOnFailure, statuses: []corev1.ContainerStatus{exited("a", 0), exited("b", 0)}, want: corev1.PodSucceeded},
		{name: "onfailure backing off", policy: corev1.RestartPolicyOnFailure, statuses: []corev1.ContainerStatus{exited("a", 0), backingOff("b", 1)}, want: corev1.PodRunning},
		{name: "always exited", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{exited("a", 0), exited("b", 0)}, want: corev1.PodRunning},
		{name: "always crash looping", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{backingOff("a", 1), running("b")}, want: corev1.PodRunning},
		{name: "init running", policy: corev1.RestartPolicyNever, init: []corev1.Container{{Name: "i"}},
			initSt: []corev1.ContainerStatus{running("i")}, want: corev1.PodPending},
		{name: "init failed never", policy: corev1.RestartPolicyNever, init: []corev1.Container{{Name: "i"}},
			initSt: []corev1.ContainerStatus{exited("i", 1)}, want: corev1.PodFailed},
		{name: "init failed onfailure", policy: corev1.RestartPolicyOnFailure, init: []corev1.Container{{Name: "i"}},
			initSt: []corev1.ContainerStatus{backingOff("i", 1)}, want: corev1.PodPending},
		{name: "init done", policy: corev1.RestartPolicyNever, init: []corev1.Container{{Name: "i"}},
			initSt: []corev1.ContainerStatus{exited("i", 0)}, statuses: []corev1.ContainerStatus{running("a"), running("b")}, want: corev1.PodRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := &corev1.PodSpec{RestartPolicy: tc.policy, InitContainers: tc.init, Containers: two}
			if got := podPhase(spec, tc.initSt, tc.statuses); got != tc.want {
				t.Errorf("podPhase = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBuildStatus(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	pod := &corev1.Pod{
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "a", Image: "img"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		}},
	}
	pending := buildStatus(pod, runtimeState{message: "waiting for PVC data to be bound (phase Pending)", startTime: now}, now)
	if pending.Phase != corev1.PodPending || pending.Message != "waiting for PVC data to be bound (phase Pending)" {
		t.Errorf("before volumes: phase %s message %q", pending.Phase, pending.Message)
	}
	if w := pending.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ContainerCreating" || w.Message != pending.Message {
		t.Errorf("before volumes: container state %+v, want waiting ContainerCreating with the message", pending.ContainerStatuses[0].State)
	}

	rs := runtimeState{sandboxReady: true, startTime: now, main: []corev1.ContainerStatus{exited("a", 0)}}
	done := buildStatus(pod, rs, now)
	if done.Phase != corev1.PodSucceeded {
		t.Errorf("phase = %s, want Succeeded", done.Phase)
	}
	gotConds := map[corev1.PodConditionType]string{}
	for _, c := range done.Conditions {
		gotConds[c.Type] = string(c.Status) + "/" + c.Reason
	}
	wantConds := map[corev1.PodConditionType]string{
		corev1.PodScheduled:              "True/",
		corev1.PodReadyToStartContainers: "True/",
		corev1.PodInitialized:            "True/",
		corev1.ContainersReady:           "False/PodCompleted",
		corev1.PodReady:                  "False/PodCompleted",
	}
	if diff := cmp.Diff(wantConds, gotConds); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if done.PodIP != nodeIP || done.HostIP != nodeIP || done.StartTime == nil {
		t.Errorf("podIP %q hostIP %q startTime %v", done.PodIP, done.HostIP, done.StartTime)
	}

	// A terminal phase is never left, even if a status says otherwise.
	pod.Status = done
	again := buildStatus(pod, runtimeState{sandboxReady: true, main: []corev1.ContainerStatus{running("a")}}, now)
	if again.Phase != corev1.PodSucceeded {
		t.Errorf("phase after Succeeded = %s", again.Phase)
	}
}
