package processnode

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeIP is the address of the node, of every pod on it and of the apiserver
// seen from pods: everything runs on the loopback interface.
const nodeIP = "127.0.0.1"

// shouldRestart reports whether a container that exited with exitCode is
// started again under policy.
func shouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	default: // Always, and the API default
		return true
	}
}

// podPhase computes a pod's phase from its container statuses the way the
// kubelet does (pkg/kubelet/kubelet_pods.go getPhase): a container waiting
// after a termination counts as stopped, one never started as waiting.
func podPhase(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus) corev1.PodPhase {
	pendingInit, failedInit := 0, 0
	for _, c := range spec.InitContainers {
		s, ok := findStatus(initStatuses, c.Name)
		switch {
		case !ok:
			pendingInit++
		case s.State.Terminated != nil && s.State.Terminated.ExitCode == 0:
		case s.State.Terminated != nil:
			failedInit++
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil &&
			s.LastTerminationState.Terminated.ExitCode != 0:
			failedInit++
		default:
			pendingInit++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	if pendingInit > 0 || failedInit > 0 {
		return corev1.PodPending
	}
	var running, waiting, stopped, succeeded, unknown int
	for _, c := range spec.Containers {
		s, ok := findStatus(statuses, c.Name)
		switch {
		case !ok:
			unknown++
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		switch spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		case corev1.RestartPolicyOnFailure:
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodRunning
		default:
			return corev1.PodRunning
		}
	}
	return corev1.PodPending
}

func findStatus(statuses []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

func isTerminal(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// runtimeState is what a pod worker knows about its pod's containers.
type runtimeState struct {
	// sandboxReady is true once volumes are set up.
	sandboxReady bool
	// message explains why the pod is not running yet.
	message string
	// initDone is true when every init container succeeded.
	initDone  bool
	init      []corev1.ContainerStatus
	main      []corev1.ContainerStatus
	startTime metav1.Time
}

// buildStatus returns pod's status updated with rs. Conditions owned by
// others (PodScheduled, DisruptionTarget) are kept; a terminal phase is
// never left.
func buildStatus(pod *corev1.Pod, rs runtimeState, now metav1.Time) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	st.HostIP, st.PodIP = nodeIP, nodeIP
	st.HostIPs = []corev1.HostIP{{IP: nodeIP}}
	st.PodIPs = []corev1.PodIP{{IP: nodeIP}}
	if st.StartTime == nil {
		t := rs.startTime
		st.StartTime = &t
	}
	st.InitContainerStatuses = withDefaults(pod.Spec.InitContainers, rs.init, rs.message)
	st.ContainerStatuses = withDefaults(pod.Spec.Containers, rs.main, rs.message)
	phase := corev1.PodPending
	if rs.sandboxReady {
		phase = podPhase(&pod.Spec, st.InitContainerStatuses, st.ContainerStatuses)
	}
	if isTerminal(pod.Status.Phase) {
		phase = pod.Status.Phase
	}
	st.Phase = phase
	st.ObservedGeneration = pod.Generation
	st.Message = ""
	if phase == corev1.PodPending {
		st.Message = rs.message
	}
	allReady := len(st.ContainerStatuses) > 0
	for _, s := range st.ContainerStatuses {
		allReady = allReady && s.Ready
	}
	readyReason := ""
	if isTerminal(phase) {
		allReady, readyReason = false, "PodCompleted"
	} else if !allReady {
		readyReason = "ContainersNotReady"
	}
	setCondition(&st, corev1.PodReadyToStartContainers, rs.sandboxReady, "", now)
	setCondition(&st, corev1.PodInitialized, rs.initDone || len(pod.Spec.InitContainers) == 0, "ContainersNotInitialized", now)
	setCondition(&st, corev1.ContainersReady, allReady, readyReason, now)
	setCondition(&st, corev1.PodReady, allReady, readyReason, now)
	return st
}

// withDefaults returns one status per spec container: the known ones, and
// Waiting/ContainerCreating for the others.
func withDefaults(specs []corev1.Container, known []corev1.ContainerStatus, message string) []corev1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(specs))
	for _, c := range specs {
		if s, ok := findStatus(known, c.Name); ok {
			out = append(out, s)
			continue
		}
		started := false
		out = append(out, corev1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			Started: &started,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "ContainerCreating", Message: message,
			}},
		})
	}
	return out
}

// setCondition sets a condition, moving LastTransitionTime only on change.
func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, ok bool, falseReason string, now metav1.Time) {
	status, reason := corev1.ConditionTrue, ""
	if !ok {
		status, reason = corev1.ConditionFalse, falseReason
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason = status, reason
		return
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{
		Type: t, Status: status, Reason: reason, LastTransitionTime: now,
	})
}
