package functions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
)

// KubeExec runs a command in a container of a running pod, as kubectl exec
// does. A script passes structured results to later phases by printing a
// JSON object as its last such line: it becomes the output map.
func KubeExec() function.Function {
	return function.Typed[KubeExecArgs, KubeExecOutputs]{Sig: kubeExecSignature, Run: runKubeExec}
}

var kubeExecSignature = function.Signature{
	Name: "kubeExec",
	Doc:  "Runs a command in a container of a running pod and returns its output; a non-zero exit fails the phase.",
	Args: []function.Arg{
		{Name: "namespace", Type: cel.StringType, Required: true, Doc: "namespace of the pod"},
		{Name: "pod", Type: cel.StringType, Required: true, Doc: "name of a running pod, e.g. ${{ workload.pods[0].name }}"},
		{Name: "container", Type: cel.StringType, Default: "", Doc: "container to run in; empty means the pod's first container"},
		{Name: "command", Type: cel.ListType(cel.StringType), Required: true, Doc: `the command and its arguments, run without a shell, e.g. ["sh", "-c", "pg_dump ..."]`},
	},
	Outputs: []function.Output{
		{Name: "stdout", Type: cel.StringType, Doc: "the end of standard output (up to 16 KiB, whole lines)"},
		{Name: "stderr", Type: cel.StringType, Doc: "the end of standard error (up to 16 KiB, whole lines)"},
		{Name: "output", Type: cel.MapType(cel.StringType, cel.DynType), Doc: "the last line of standard output that is a JSON object, e.g. {\"lsn\": \"0/3000060\"}; empty if none"},
	},
}

// KubeExecArgs are kubeExec's arguments.
type KubeExecArgs struct {
	Namespace string   `json:"namespace"`
	Pod       string   `json:"pod"`
	Container string   `json:"container"`
	Command   []string `json:"command"`
}

// KubeExecOutputs are kubeExec's outputs.
type KubeExecOutputs struct {
	Stdout string         `json:"stdout"`
	Stderr string         `json:"stderr"`
	Output map[string]any `json:"output"`
}

func runKubeExec(ctx context.Context, rt *function.Runtime, in KubeExecArgs) (KubeExecOutputs, error) {
	if in.Namespace == "" || in.Pod == "" || len(in.Command) == 0 {
		return KubeExecOutputs{}, function.Permanent(errors.New("namespace, pod and command must not be empty"))
	}
	if err := rt.Clients.Check(function.UsesKube | function.UsesExec); err != nil {
		return KubeExecOutputs{}, err
	}
	container, err := containerOf(ctx, rt, in.Namespace, in.Pod, in.Container)
	if err != nil {
		return KubeExecOutputs{}, err
	}
	where := fmt.Sprintf("pod %s/%s container %s", in.Namespace, in.Pod, container)
	rt.Message(fmt.Sprintf("running %s in %s", in.Command[0], where))
	stdout, stderr := newTailBuffer(captureLimit), newTailBuffer(captureLimit)
	err = rt.Clients.Exec.Exec(ctx, function.ExecRequest{Namespace: in.Namespace, Pod: in.Pod, Container: container,
		Command: in.Command, Stdout: stdout, Stderr: stderr})
	if err != nil {
		return KubeExecOutputs{}, fmt.Errorf("%s: %w%s", where, err, quoted("stderr", stderr.String()))
	}
	rt.Message(fmt.Sprintf("ran %s in %s", in.Command[0], where))
	return KubeExecOutputs{
		Stdout: stdout.Tail(outputLimit),
		Stderr: stderr.Tail(outputLimit),
		Output: lastJSONObject(stdout.String()),
	}, nil
}

// quoted is ", what: <the end of s>" for an error message, or "" when s is
// blank.
func quoted(what, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return fmt.Sprintf(", %s: %s", what, tail(s, errorTailLimit))
}

// containerOf checks that the pod is running and has the container, and
// resolves an empty container name to the pod's first container. A pod
// that is missing or not running may yet be (a StatefulSet recreates it),
// so only a container the pod does not have is permanent.
func containerOf(ctx context.Context, rt *function.Runtime, namespace, pod, container string) (string, error) {
	p, err := rt.Clients.Kube.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("pod %s/%s not found", namespace, pod)
	}
	if err != nil {
		return "", fmt.Errorf("get pod %s/%s: %w", namespace, pod, err)
	}
	if p.Status.Phase != corev1.PodRunning {
		return "", fmt.Errorf("pod %s/%s is not running (phase %q)", namespace, pod, p.Status.Phase)
	}
	names := make([]string, len(p.Spec.Containers))
	for i, c := range p.Spec.Containers {
		names[i] = c.Name
	}
	switch {
	case len(names) == 0:
		return "", function.Permanent(fmt.Errorf("pod %s/%s has no containers", namespace, pod))
	case container == "":
		return names[0], nil
	case !slices.Contains(names, container):
		return "", function.Permanent(fmt.Errorf("pod %s/%s has no container %q; it has %s", namespace, pod, container, strings.Join(names, ", ")))
	}
	return container, nil
}
