package functions

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
)

const noNode = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."

func unschedulableMover() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "mover"},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: noNode,
		}}},
	}
}

// startWaitingFake waits for the mover on a fake cluster and fake clock,
// and returns once the unschedulable timer runs.
func startWaitingFake(t *testing.T) (*fakeCluster, *clocktesting.FakeClock, chan error) {
	t.Helper()
	fc := newFakeCluster(t, unschedulableMover())
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	fc.rt.Clock = clk
	errc := make(chan error, 1)
	go func() {
		_, err := waitPodStarted(t.Context(), fc.rt, moverJob{namespace: testNS, name: "mover", timeout: time.Hour})
		errc <- err
	}()
	err := wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return clk.HasWaiters(), nil })
	if err != nil {
		t.Fatalf("the unschedulable timer never started: %v", err)
	}
	return fc, clk, errc
}

// TestMoverUnschedulableFailsAfterGraceFake: a mover the scheduler cannot
// place fails once it has been unschedulable for the grace, with the
// scheduler's reason, which the phase message showed from the start.
func TestMoverUnschedulableFailsAfterGraceFake(t *testing.T) {
	fc, clk, errc := startWaitingFake(t)
	clk.Step(unschedulableGrace - time.Second)
	if !clk.HasWaiters() {
		t.Fatal("the timer fired before the grace was up")
	}
	clk.Step(time.Second)
	err := <-errc
	if !errors.Is(err, errUnschedulable) || !strings.Contains(err.Error(), noNode) {
		t.Fatalf("err = %v, want errUnschedulable with the scheduler's reason", err)
	}
	want := "message mover pod " + testNS + "/mover is unschedulable: " + noNode
	if !slices.Contains(fc.recorded(), want) {
		t.Errorf("recorded %q, want %q", fc.recorded(), want)
	}
}

// TestMoverScheduledInTimeStartsFake: a mover placed within the grace (a
// node came up) starts, and the timer is gone.
func TestMoverScheduledInTimeStartsFake(t *testing.T) {
	fc, clk, errc := startWaitingFake(t)
	pod := unschedulableMover()
	pod.Spec.NodeName = "node-1"
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	if _, err := fc.kube.CoreV1().Pods(testNS).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("waitPodStarted: %v", err)
	}
	if clk.HasWaiters() {
		t.Error("the unschedulable timer still runs after the pod started")
	}
}
