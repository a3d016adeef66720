package functions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

// KubeTask runs a command in a new pod and waits for it to finish. Use it
// for work that needs its own image: a database client, a cloud CLI. The
// pod's name derives from the ActionSet and phase, so a resumed phase
// adopts the pod it already started instead of running the task twice.
func KubeTask() function.Function {
	return function.Typed[KubeTaskArgs, KubeTaskOutputs]{Sig: kubeTaskSignature, Run: runKubeTask, Rel: releaseKubeTask}
}

var kubeTaskSignature = function.Signature{
	Name: "kubeTask",
	Doc:  "Runs a command in a new pod, waits for it to finish, returns its log and deletes the pod.",
	Args: []function.Arg{
		{Name: "namespace", Type: cel.StringType, Required: true, Doc: "namespace to run the pod in"},
		{Name: "image", Type: cel.StringType, Required: true, Doc: "container image, e.g. postgres:17"},
		{Name: "command", Type: cel.ListType(cel.StringType), Required: true, Doc: "the command and its arguments (the image's entrypoint is replaced)"},
		{Name: "serviceAccount", Type: cel.StringType, Default: "", Doc: "service account the pod runs as; empty means the namespace's default"},
		{Name: "env", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{}, Doc: "environment variables of the container"},
		{Name: "timeout", Type: cel.DurationType, Default: "10m", Doc: "how long the pod may take, from its creation to its end"},
	},
	Outputs: []function.Output{
		{Name: "log", Type: cel.StringType, Doc: "the end of the pod's log (up to 16 KiB, whole lines)"},
		{Name: "output", Type: cel.MapType(cel.StringType, cel.DynType), Doc: "the last line of the log that is a JSON object; empty if none"},
	},
}

// KubeTaskArgs are kubeTask's arguments.
type KubeTaskArgs struct {
	Namespace      string            `json:"namespace"`
	Image          string            `json:"image"`
	Command        []string          `json:"command"`
	ServiceAccount string            `json:"serviceAccount"`
	Env            map[string]string `json:"env"`
	Timeout        metav1.Duration   `json:"timeout"`
}

// KubeTaskOutputs are kubeTask's outputs.
type KubeTaskOutputs struct {
	Log    string         `json:"log"`
	Output map[string]any `json:"output"`
}

func runKubeTask(ctx context.Context, rt *function.Runtime, in KubeTaskArgs) (KubeTaskOutputs, error) {
	switch {
	case in.Namespace == "" || in.Image == "" || len(in.Command) == 0:
		return KubeTaskOutputs{}, function.Permanent(errors.New("namespace, image and command must not be empty"))
	case in.Timeout.Duration <= 0:
		return KubeTaskOutputs{}, function.Permanent(fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return KubeTaskOutputs{}, err
	}
	pods := rt.Clients.Kube.CoreV1().Pods(in.Namespace)
	pod := taskPod(rt, in)
	where := fmt.Sprintf("task pod %s/%s", pod.Namespace, pod.Name)
	// Recorded before the pod exists (and again for an adopted one: the
	// engine deduplicates keys), so it goes when the action ends, however
	// this call or the controller ends.
	if err := rt.Cleanup(ctx, pod.Namespace+"/"+pod.Name); err != nil {
		return KubeTaskOutputs{}, err
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return KubeTaskOutputs{}, fmt.Errorf("create %s: %w", where, err)
	}
	rt.Message("running " + where)

	last, err := waitPodDone(ctx, rt.Clients.Kube, pod.Namespace, pod.Name, in.Timeout.Duration)
	if err != nil && !errors.Is(err, errTimedOut) {
		return KubeTaskOutputs{}, fmt.Errorf("wait for %s: %w", where, err)
	}
	out, err := finishTask(ctx, rt.Clients.Kube, pod, last, err, in.Timeout.Duration)
	if err != nil {
		return KubeTaskOutputs{}, fmt.Errorf("%s %w", where, err)
	}
	rt.Message(where + " succeeded")
	return out, nil
}

// finishTask reads the log of the task pod, which ended as last shows (or,
// when waitErr says so, ran out of time), deletes the pod and reports the
// outcome.
func finishTask(ctx context.Context, kube kubernetes.Interface, pod, last *corev1.Pod, waitErr error, timeout time.Duration) (KubeTaskOutputs, error) {
	log, logErr := podLog(ctx, kube, pod.Namespace, pod.Name)
	if waitErr == nil && last.Status.Phase == corev1.PodSucceeded && logErr != nil {
		// Keep the pod: a retry adopts it and reads the log again.
		return KubeTaskOutputs{}, fmt.Errorf("succeeded, but its log is unreadable: %w", logErr)
	}
	// Should deleting fail, the cleanup registered for the pod deletes it
	// when the action ends.
	if err := deleteTaskPod(ctx, kube, pod.Namespace, pod.Name); err != nil {
		klog.FromContext(ctx).Error(err, "the action's cleanup will retry")
	}
	switch {
	case waitErr != nil:
		return KubeTaskOutputs{}, fmt.Errorf("did not finish within %s (%s)%s", timeout, podState(last), quotedLog(log, logErr))
	case last.Status.Phase == corev1.PodFailed:
		return KubeTaskOutputs{}, fmt.Errorf("failed: %s%s", podState(last), quotedLog(log, logErr))
	}
	return KubeTaskOutputs{Log: log.Tail(outputLimit), Output: lastJSONObject(log.String())}, nil
}

// taskPod is the pod kubeTask runs: one container, never restarted, and
// stopped by the kubelet once the timeout has passed even if no controller
// is watching.
func taskPod(rt *function.Runtime, in KubeTaskArgs) *corev1.Pod {
	var env []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: in.Env[k]})
	}
	deadline := int64(math.Ceil(in.Timeout.Seconds()))
	return &corev1.Pod{
		ObjectMeta: ownedMeta(rt, kubeTaskSignature.Name, in.Namespace, rt.Names.Name(taskContainer)),
		Spec: corev1.PodSpec{
			RestartPolicy:         corev1.RestartPolicyNever,
			ServiceAccountName:    in.ServiceAccount,
			ActiveDeadlineSeconds: &deadline,
			Containers: []corev1.Container{{
				Name: taskContainer, Image: in.Image, Command: in.Command, Env: env,
				SecurityContext: taskSecurityContext(),
			}},
		},
	}
}

// taskSecurityContext keeps a task to the user its image runs as: no
// capabilities, no privilege escalation, the runtime's default seccomp
// profile. A task talks to its app over the network (a dump, a query); one
// that needs more belongs in a pod the app's owner defines.
func taskSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podLog reads the end of the task container's log.
func podLog(ctx context.Context, kube kubernetes.Interface, namespace, name string) (*tailBuffer, error) {
	buf := newTailBuffer(captureLimit)
	rc, err := kube.CoreV1().Pods(namespace).GetLogs(name, &corev1.PodLogOptions{Container: taskContainer}).Stream(ctx)
	if err != nil {
		return buf, err
	}
	defer rc.Close()
	_, err = io.Copy(buf, rc)
	return buf, err
}

// quotedLog is the log's end for an error message, or why there is none.
func quotedLog(log *tailBuffer, err error) string {
	if err != nil {
		return fmt.Sprintf(", log unavailable: %v", err)
	}
	return quoted("log", log.String())
}

// releaseKubeTask deletes the task pod named by key ("namespace/name").
func releaseKubeTask(ctx context.Context, rt *function.Runtime, key string) error {
	namespace, name, ok := strings.Cut(key, "/")
	if !ok {
		return function.Permanent(fmt.Errorf("cleanup key %q is not namespace/name", key))
	}
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return err
	}
	return deleteTaskPod(ctx, rt.Clients.Kube, namespace, name)
}

// deleteTaskPod deletes the pod; one already gone is fine.
func deleteTaskPod(ctx context.Context, kube kubernetes.Interface, namespace, name string) error {
	err := kube.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete task pod %s/%s: %w", namespace, name, err)
	}
	return nil
}
