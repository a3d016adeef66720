//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// TestDeployedController installs deploy/ as `make deploy` does and runs
// an ActionSet through the controller as a pod on the process node: an
// in-cluster configuration, the controller's own small role and the
// runner's role from `kubectl snapflow rbac` must suffice.
func TestDeployedController(t *testing.T) {
	const ns = "deployed"
	c := startController(t) // only for its client; it does not watch ns
	// The runs act as snapflow-runner with what `kubectl snapflow rbac`
	// grants by default: this namespace only, and cluster reads.
	namespaceWith(t, ns, nil)
	kubectlPlugin(t, pluginPATH(t), "snapflow", "rbac", "-n", ns, "--apply")
	bin, err := snapflowBinary()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join("..", "..", "deploy", "controller.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Watch only this test's namespace, so the deployed controller leaves
	// the other tests' ActionSets to the in-process one.
	deployment := strings.ReplaceAll(string(manifest), "@SNAPFLOW_BINARY@", bin)
	deployment = strings.Replace(deployment, "--leader-elect,", "--leader-elect, --namespaces="+ns+",", 1)
	kubectl(t, "apply", "-f", filepath.Join("..", "..", "deploy", "namespace.yaml"), "-f", filepath.Join("..", "..", "deploy", "rbac.yaml"))
	kubectlIn(t, deployment, "apply", "-f", "-")
	t.Cleanup(func() {
		_ = exec.Command(env.bins.Kubectl, "--kubeconfig", env.c.Kubeconfig, "delete", "namespace", "snapflow-system", "--wait=false").Run()
	})
	kubectl(t, "-n", "snapflow-system", "rollout", "status", "deployment/snapflow-controller", "--timeout=120s")

	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bp := blueprint(t, ns, `
metadata: {name: report}
spec:
  actions:
    check:
      phases:
      - name: report
        func: log
        args: {message: "${{ workload.kind }}/${{ workload.name }} of class ${{ workload.pvcs[0].storageClass }}"}
      outputs:
        summary: "${{ phases.report.message }}"
`)
	if err := c.Create(ctx, bp); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, actionSet(ns, "check", "report", "check", "data")); err != nil {
		t.Fatal(err)
	}
	as := waitActionSet(t, c, client.ObjectKey{Namespace: ns, Name: "check"}, "finished", func(as *v1alpha1.ActionSet) bool {
		return as.Status.State == v1alpha1.ActionSetSucceeded || as.Status.State == v1alpha1.ActionSetFailed
	})
	if as.Status.State != v1alpha1.ActionSetSucceeded {
		t.Fatalf("state %s: %s\ncontroller log:\n%s", as.Status.State, as.Status.Message,
			kubectl(t, "-n", "snapflow-system", "logs", "deployment/snapflow-controller", "--tail=30"))
	}
	want := `"PersistentVolumeClaim/data of class ` + env.c.StorageClass + `"`
	if got := string(as.Status.Artifacts["summary"].Raw); got != want {
		t.Errorf("artifacts.summary = %s, want %s", got, want)
	}
	if logs := kubectl(t, "-n", "snapflow-system", "logs", "deployment/snapflow-controller"); strings.Contains(logs, "forbidden") {
		t.Errorf("the controller was refused by RBAC:\n%s", logs)
	}
}
