package functions

// Pods: waiting for the pods functions start and describing their state.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// taskContainer is the name of the task pod's only container.
const taskContainer = "task"

// waitPodDone waits until the pod has succeeded or failed, and returns the
// last version of it seen (nil if none). A deleted pod, or one gone
// already, is an error.
func waitPodDone(ctx context.Context, kube kubernetes.Interface, namespace, name string, timeout time.Duration) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := untilExisting(ctx, timeout, podListWatch(kube, namespace, name), &corev1.Pod{}, namespace, name, func(obj runtime.Object) (bool, error) {
		if obj == nil {
			return false, errors.New("the pod was deleted before it finished")
		}
		last = obj.(*corev1.Pod)
		return last.Status.Phase == corev1.PodSucceeded || last.Status.Phase == corev1.PodFailed, nil
	})
	return last, err
}

// podListWatch lists and watches the pod called name.
func podListWatch(kube kubernetes.Interface, namespace, name string) cache.ListerWatcher {
	pods := kube.CoreV1().Pods(namespace)
	return namedListWatch(kube, name,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return pods.Watch(ctx, o) })
}

// podState says briefly where a pod is: its phase and reason, and how its
// task container ended or why it is waiting.
func podState(p *corev1.Pod) string {
	if p == nil {
		return "never seen"
	}
	parts := []string{"phase " + string(p.Status.Phase)}
	if p.Status.Reason != "" {
		parts = append(parts, "reason "+p.Status.Reason)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != taskContainer {
			continue
		}
		switch s := cs.State; {
		case s.Terminated != nil:
			parts = append(parts, fmt.Sprintf("exit code %d", s.Terminated.ExitCode))
			parts = appendNonEmpty(parts, s.Terminated.Reason, s.Terminated.Message)
		case s.Waiting != nil:
			parts = append(parts, "waiting")
			parts = appendNonEmpty(parts, s.Waiting.Reason, s.Waiting.Message)
		}
	}
	return strings.Join(parts, ", ")
}

func appendNonEmpty(list []string, s ...string) []string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			list = append(list, tail(x, errorTailLimit))
		}
	}
	return list
}
