//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// repoPath is a path from the repository's root.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{"..", ".."}, elem...)...)
}

// libraryBlueprint creates blueprints/<name>/blueprint.yaml in ns.
func libraryBlueprint(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	data, err := os.ReadFile(repoPath("blueprints", name, "blueprint.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(t.Context(), blueprint(t, ns, string(data))); err != nil {
		t.Fatal(err)
	}
}

// slowClass is a StorageClass whose snapshots use a VolumeSnapshotClass
// that cuts at once but is ready only after readyAfter, as a cloud disk
// snapshot is; class names carry the delay so several can coexist.
func slowClass(t *testing.T, name, readyAfter string) string {
	t.Helper()
	ctx := t.Context()
	vscName := name + "-snap"
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			"snapflow.dev/volume-snapshot-class": vscName,
		}},
		Provisioner:       cluster.CSIDriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
	}
	if _, err := env.kube.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	vsc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": vscName},
		"driver":   cluster.CSIDriverName, "deletionPolicy": "Delete",
		"parameters": map[string]any{"readyAfter": readyAfter},
	}}
	if _, err := env.dyn.Resource(cluster.VolumeSnapshotClassGVR).Create(ctx, vsc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

// basicApp deploys examples/basic-app into ns with the claim in
// storageClass, and waits until it has written a few lines.
func basicApp(t *testing.T, ns, storageClass string) string {
	t.Helper()
	var docs []string
	for _, f := range []string{"pvc.yaml", "deployment.yaml"} {
		data, err := os.ReadFile(repoPath("examples", "basic-app", f))
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.ReplaceAll(string(data), "namespace: basic-app", "namespace: "+ns)
		if f == "pvc.yaml" {
			doc = strings.Replace(doc, "spec:\n", "spec:\n  storageClassName: "+storageClass+"\n", 1)
		}
		docs = append(docs, doc)
	}
	kubectlIn(t, strings.Join(docs, "\n---\n"), "apply", "-f", "-")
	pod := appPod(t, ns)
	eventually(t, "basic-app writes 3 lines", func(ctx context.Context) (bool, error) {
		return len(appLines(t, ns, pod)) >= 3, nil
	})
	return pod
}

// appPod waits for basic-app's running pod and returns its name.
func appPod(t *testing.T, ns string) string {
	t.Helper()
	return appPodOf(t, env.kube, "", ns)
}

// appPodOf waits for basic-app's running pod in ns of the cluster kube
// reaches; clusterName, empty for the default cluster, is for messages.
func appPodOf(t *testing.T, kube kubernetes.Interface, clusterName, ns string) string {
	t.Helper()
	var name string
	eventually(t, "basic-app pod running in "+strings.TrimPrefix(clusterName+"/"+ns, "/"), func(ctx context.Context) (bool, error) {
		list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=basic-app"})
		if err != nil {
			return false, err
		}
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				name = p.Name
				return true, nil
			}
		}
		return false, nil
	})
	return name
}

// appLines reads basic-app's date.txt through its pod.
func appLines(t *testing.T, ns, pod string) []string {
	t.Helper()
	out := kubectl(t, "exec", "-n", ns, pod, "-c", "app", "--", "cat", "/data/date.txt")
	return strings.Fields(out)
}

// appFrozen tells whether basic-app's freeze marker is set.
func appFrozen(t *testing.T, ns, pod string) bool {
	t.Helper()
	out := kubectl(t, "exec", "-n", ns, pod, "-c", "app", "--", "sh", "-c", "[ -e /run/basic-app/freeze ] && echo yes || echo no")
	return strings.TrimSpace(out) == "yes"
}

// finished waits for the ActionSet to reach a final state.
func finished(t *testing.T, c client.Client, ns, name string) *v1alpha1.ActionSet {
	t.Helper()
	return waitActionSet(t, c, client.ObjectKey{Namespace: ns, Name: name}, "final", func(as *v1alpha1.ActionSet) bool {
		return as.Status.State.Final()
	})
}

// mustSucceed fails the test unless as succeeded, showing its phases.
func mustSucceed(t *testing.T, as *v1alpha1.ActionSet) {
	t.Helper()
	if as.Status.State == v1alpha1.ActionSetSucceeded {
		return
	}
	var b strings.Builder
	for _, p := range as.Status.Phases {
		b.WriteString("\n  " + p.Name + "=" + string(p.State) + ": " + p.Message)
	}
	t.Fatalf("ActionSet %s is %s: %s%s", as.Name, as.Status.State, as.Status.Message, b.String())
}

// decodeJSON decodes one status JSON value into v.
func decodeJSON(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// phaseOutput decodes one output of one phase of as.
func phaseOutput(t *testing.T, as *v1alpha1.ActionSet, phase, output string, v any) {
	t.Helper()
	for _, p := range as.Status.Phases {
		if p.Name == phase {
			raw, ok := p.Outputs[output]
			if !ok {
				t.Fatalf("phase %s has no output %s: %v", phase, output, p.Outputs)
			}
			decodeJSON(t, raw.Raw, v)
			return
		}
	}
	t.Fatalf("no phase %s in %s", phase, as.Name)
}

// snapshotOut is the part of the snapshot function's output the tests read.
type snapshotOut struct {
	PVC            string `json:"pvc"`
	Namespace      string `json:"namespace"`
	VolumeSnapshot string `json:"volumeSnapshot"`
	Content        string `json:"content"`
	SnapshotHandle string `json:"snapshotHandle"`
	CreationTime   string `json:"creationTime"`
}

// leftovers lists the VolumeSnapshots in ns and the contents that name
// ns: what a failed backup must not leave behind.
func leftovers(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	list, err := env.dyn.Resource(volumeSnapshotGVR).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range list.Items {
		out = append(out, "VolumeSnapshot "+vs.GetName())
	}
	contents, err := env.dyn.Resource(volumeSnapshotContentGVR).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contents.Items {
		if refNS, _, _ := unstructured.NestedString(c.Object, "spec", "volumeSnapshotRef", "namespace"); refNS == ns {
			out = append(out, "VolumeSnapshotContent "+c.GetName())
		}
	}
	return out
}

// snapflowBinary builds snapflow once per test binary.
func snapflowBinary() (string, error) {
	return builtBinary("snapflow", "github.com/snapflow/snapflow/cmd/snapflow")
}

// built holds the binaries builtBinary made, by name.
var built struct {
	sync.Mutex
	paths map[string]string
}

// builtBinary builds Go package pkg as name into the suite's temporary
// directory, once per test binary, and returns its path.
func builtBinary(name, pkg string) (string, error) {
	built.Lock()
	defer built.Unlock()
	if p, ok := built.paths[name]; ok {
		return p, nil
	}
	bin := filepath.Join(env.tmp, "bin", name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, out)
	}
	if built.paths == nil {
		built.paths = map[string]string{}
	}
	built.paths[name] = bin
	return bin, nil
}

var volumeSnapshotContentGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}

// parseTime parses an RFC 3339 time from a status.
func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return ts
}
