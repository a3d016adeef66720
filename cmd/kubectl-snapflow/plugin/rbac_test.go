package plugin

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// kinds lists "Kind namespace/name" of each YAML document in out.
func kinds(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, doc := range strings.Split(out, "\n---\n") {
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct{ Namespace, Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		got = append(got, m.Kind+" "+m.Metadata.Namespace+"/"+m.Metadata.Name)
	}
	return got
}

func TestRBACPrintsNamespaceScopedAccessFake(t *testing.T) {
	res := runCmd(t, newFakeClient(t), "rbac", "--target-namespace", "app")
	if res.Code != ExitOK {
		t.Fatalf("exit %d: %s", res.Code, res.ErrOut)
	}
	want := []string{
		"ServiceAccount shop/snapflow-runner",
		"ClusterRole /snapflow-runner",
		"ClusterRole /snapflow-runner-cluster-read",
		"ClusterRoleBinding /snapflow:shop:snapflow-runner:cluster-read",
		"RoleBinding shop/snapflow:shop:snapflow-runner",
		"RoleBinding app/snapflow:shop:snapflow-runner",
	}
	if diff := cmp.Diff(want, kinds(t, res.Out)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestRBACClusterWritesAndAnyNamespaceFake(t *testing.T) {
	res := runCmd(t, newFakeClient(t), "rbac", "--service-account", "ops", "--any-target-namespace", "--cluster-writes")
	if res.Code != ExitOK {
		t.Fatalf("exit %d: %s", res.Code, res.ErrOut)
	}
	want := []string{
		"ServiceAccount shop/ops",
		"ClusterRole /snapflow-runner",
		"ClusterRole /snapflow-runner-cluster-read",
		"ClusterRoleBinding /snapflow:shop:ops:cluster-read",
		"ClusterRoleBinding /snapflow:shop:ops",
		"ClusterRole /snapflow-runner-cluster-write",
		"ClusterRoleBinding /snapflow:shop:ops:cluster-write",
	}
	if diff := cmp.Diff(want, kinds(t, res.Out)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// The namespaced role must not grant what only cluster writes should.
func TestRunnerRoleHasNoClusterScopedWrites(t *testing.T) {
	for _, obj := range RunnerRBAC(RunnerAccess{Namespace: "shop", ServiceAccount: "r"}) {
		role, ok := obj.(*rbacv1.ClusterRole)
		if !ok {
			continue
		}
		for _, r := range role.Rules {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if v != "get" && v != "list" && v != "watch" &&
						(res == "namespaces" || strings.HasSuffix(res, "snapshotcontents") || strings.HasSuffix(res, "snapshotclasses")) {
						t.Errorf("ClusterRole %s grants %s on %s without --cluster-writes", role.Name, v, res)
					}
				}
			}
		}
	}
}

func TestRBACUsageErrorsFake(t *testing.T) {
	for _, args := range [][]string{
		{"rbac", "--service-account", ""},
		{"rbac", "--target-namespace", "a", "--any-target-namespace"},
		{"rbac", "extra"},
	} {
		if res := runCmd(t, newFakeClient(t), args...); res.Code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, res.Code, ExitUsage, res.ErrOut)
		}
	}
}
