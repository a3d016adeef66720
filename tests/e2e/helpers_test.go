//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// pollTimeout bounds every wait for the cluster to converge.
const pollTimeout = 2 * time.Minute

// eventually polls cond until it holds or pollTimeout passes; what is the
// thing awaited, for the failure message.
func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, pollTimeout, true, cond)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// namespace creates a namespace for one test; it is deleted when the test
// ends unless the test deletes it itself. Its runs act as snapflow-runner,
// granted everything the built-ins may do anywhere (`kubectl snapflow rbac
// --any-target-namespace --cluster-writes`): the tests exercise the
// functions through impersonation, and tenancy_test.go the limits.
func namespace(t *testing.T, name string) string {
	t.Helper()
	return namespaceWith(t, name, &plugin.RunnerAccess{AnyTargetNamespace: true, ClusterWrites: true})
}

// namespaceWith is namespace with the runner granted only access; nil
// grants nothing.
func namespaceWith(t *testing.T, name string, access *plugin.RunnerAccess) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := env.kube.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	eventually(t, "default service account in "+name, func(ctx context.Context) (bool, error) {
		_, err := env.kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if access == nil {
		return name
	}
	access.Namespace, access.ServiceAccount = name, v1alpha1.DefaultServiceAccountName
	if err := grant(t.Context(), *access); err != nil {
		t.Fatal(err)
	}
	return name
}

// grant creates the runner RBAC of access; the shared ClusterRoles and
// bindings of a namespace created again are kept as they are.
func grant(ctx context.Context, access plugin.RunnerAccess) error {
	c, err := client.New(env.cfg, client.Options{})
	if err != nil {
		return err
	}
	for _, obj := range plugin.RunnerRBAC(access) {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("grant %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return nil
}

// kubectl runs the cluster's kubectl and returns its standard output.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return kubectlIn(t, "", args...)
}

// kubectlIn runs kubectl with stdin as its standard input.
func kubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.bins.Kubectl, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+env.c.Kubeconfig)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func pvc(name string, mode corev1.PersistentVolumeAccessMode, from *corev1.TypedLocalObjectReference) *corev1.PersistentVolumeClaim {
	sc := env.c.StorageClass
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &sc,
			AccessModes:      []corev1.PersistentVolumeAccessMode{mode},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			DataSource:       from,
		},
	}
}

func waitBound(t *testing.T, ns, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	var got *corev1.PersistentVolumeClaim
	eventually(t, "PVC "+name+" bound", func(ctx context.Context) (bool, error) {
		var err error
		got, err = env.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.ClaimBound, nil
	})
	return got
}

// shellPod runs script with sh, mounting claim at /data (read-only if ro).
func shellPod(name, claim string, ro bool, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptrInt64(2),
			Containers: []corev1.Container{{
				Name: "main", Image: "busybox", Command: []string{"sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: ro}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: ro},
			}}},
		},
	}
}

func ptrInt64(v int64) *int64 { return &v }

func waitRunning(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, "pod "+name+" running", func(ctx context.Context) (bool, error) {
		p, err := env.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("pod failed: %s", p.Status.Message)
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
}

func gone(err error) bool { return apierrors.IsNotFound(err) }

// kubectlFails runs kubectl expecting failure and returns its error output
// ("" when it succeeded).
func kubectlFails(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.bins.Kubectl, args...)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+env.c.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return ""
	}
	return string(out) + err.Error()
}
