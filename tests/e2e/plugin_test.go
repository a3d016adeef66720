//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestKubectlPlugin installs kubectl-snapflow on PATH and drives it through
// kubectl, as a user would: get, backup, describe and cancel.
func TestKubectlPlugin(t *testing.T) {
	t.Parallel()
	ensureSnapflowCRDs(t)
	ns := namespace(t, "e2e-kubectl-plugin")
	path := pluginPATH(t)

	stdout, stderr := kubectlPlugin(t, path, "snapflow", "get", "-n", ns)
	if stdout != "" || stderr != "No actionsets found in namespace "+ns+".\n" {
		t.Errorf("get in an empty namespace: stdout %q, stderr %q", stdout, stderr)
	}

	stdout, _ = kubectlPlugin(t, path, "snapflow", "backup", "deploy/web", "--blueprint", "basic-app", "--location", "s3",
		"--param", "retries=3", "-n", ns)
	name := strings.TrimSpace(stdout)
	if !strings.HasPrefix(name, "web-backup-") {
		t.Fatalf("backup printed %q, want the name of an ActionSet web-backup-...", stdout)
	}
	as, err := env.dyn.Resource(pluginActionSets).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the ActionSet backup created: %v", err)
	}
	for _, f := range []struct {
		path []string
		want string
	}{
		{[]string{"spec", "blueprint", "name"}, "basic-app"},
		{[]string{"spec", "action"}, "backup"},
		{[]string{"spec", "object", "kind"}, "Deployment"},
		{[]string{"spec", "object", "apiVersion"}, "apps/v1"},
		{[]string{"spec", "location", "name"}, "s3"},
	} {
		if got, _, _ := unstructured.NestedString(as.Object, f.path...); got != f.want {
			t.Errorf("%s = %q, want %q", strings.Join(f.path, "."), got, f.want)
		}
	}
	if got, _, _ := unstructured.NestedInt64(as.Object, "spec", "params", "retries"); got != 3 {
		t.Errorf("spec.params.retries = %d, want 3", got)
	}

	stdout, _ = kubectlPlugin(t, path, "snapflow", "get", "-n", ns)
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "NAME ") || !strings.HasPrefix(lines[1], name+" ") {
		t.Errorf("get: want a header and the ActionSet, got\n%s", stdout)
	}
	stdout, _ = kubectlPlugin(t, path, "snapflow", "describe", name, "-n", ns)
	if !strings.Contains(stdout, "Object:") || !strings.Contains(stdout, "Deployment/web (apps/v1) in "+ns) {
		t.Errorf("describe:\n%s", stdout)
	}

	kubectlPlugin(t, path, "snapflow", "cancel", name, "-n", ns)
	as, err = env.dyn.Resource(pluginActionSets).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cancel, _, _ := unstructured.NestedBool(as.Object, "spec", "cancel"); !cancel {
		t.Errorf("spec.cancel is not set after kubectl snapflow cancel")
	}
}

var (
	pluginActionSets = schema.GroupVersionResource{Group: "snapflow.dev", Version: "v1alpha1", Resource: "actionsets"}
	pluginCRDs       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// ensureSnapflowCRDs installs the snapflow CRDs unless they are installed.
func ensureSnapflowCRDs(t *testing.T) {
	t.Helper()
	_, err := env.dyn.Resource(pluginCRDs).Get(t.Context(), "actionsets.snapflow.dev", metav1.GetOptions{})
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		kubectl(t, "apply", "--server-side", "--force-conflicts", "-f", filepath.Join("..", "..", "schema", "crds"))
	default:
		t.Fatal(err)
	}
	kubectl(t, "wait", "--for=condition=Established", "--timeout=2m",
		"crd/actionsets.snapflow.dev", "crd/blueprints.snapflow.dev", "crd/locations.snapflow.dev")
	eventually(t, "actionsets served", func(ctx context.Context) (bool, error) {
		_, err := env.dyn.Resource(pluginActionSets).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
}

// pluginPATH returns a PATH on which kubectl finds kubectl-snapflow.
func pluginPATH(t *testing.T) string {
	t.Helper()
	bin, err := builtBinary("kubectl-snapflow", "github.com/snapflow/snapflow/cmd/kubectl-snapflow")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// kubectlPlugin runs kubectl with path as PATH, so that it finds
// kubectl-snapflow, and returns its standard output and error.
func kubectlPlugin(t *testing.T, path string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.bins.Kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.c.Kubeconfig, "PATH="+path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}
