//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// TestBackupFailures runs backups that must fail, each with a clear error,
// the app not frozen, and no VolumeSnapshot or content left behind. The
// subtests change cluster-wide snapshot classes, so they run in order.
func TestBackupFailures(t *testing.T) {
	c := startController(t)
	ns := namespace(t, "vol-fail")
	libraryBlueprint(t, c, ns, "quiesced-snapshot")
	libraryBlueprint(t, c, ns, "csi-snapshot")
	pod := basicApp(t, ns, env.c.StorageClass)
	slowNS := namespace(t, "vol-fail-slow")
	slowPod := basicApp(t, slowNS, slowClass(t, "snapflow-ready-1h", "1h"))

	// fails runs a backup of basic-app in appNS and checks the failure.
	fails := func(t *testing.T, name, bp, appNS, appPod, params string, wantInMessage ...string) {
		t.Helper()
		as := &v1alpha1.ActionSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: bp},
				Action:    "backup",
				Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: appNS, Name: "basic-app"},
				Params:    jsonArgs(t, params),
			},
		}
		if err := c.Create(t.Context(), as); err != nil {
			t.Fatal(err)
		}
		done := finished(t, c, ns, name)
		if done.Status.State != v1alpha1.ActionSetFailed {
			t.Fatalf("state %s, want Failed", done.Status.State)
		}
		for _, w := range wantInMessage {
			if !strings.Contains(done.Status.Message, w) {
				t.Errorf("message %q does not say %q", done.Status.Message, w)
			}
		}
		if appFrozen(t, appNS, appPod) {
			t.Errorf("basic-app in %s is still frozen", appNS)
		}
		if left := leftovers(t, appNS); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
		if len(done.Status.PendingCleanups) > 0 {
			t.Errorf("pending cleanups: %v", done.Status.PendingCleanups)
		}
	}

	t.Run("no snapshot class", func(t *testing.T) {
		annotateClass(t, env.c.SnapshotClass, "false")
		fails(t, "no-class", "csi-snapshot", ns, pod, `{}`, `phase "snap"`, cluster.CSIDriverName, "snapflow.dev/is-snapshot-class")
	})
	t.Run("two snapshot classes", func(t *testing.T) {
		second := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
			"metadata": map[string]any{"name": "second-snap", "annotations": map[string]any{"snapflow.dev/is-snapshot-class": "true"}},
			"driver":   cluster.CSIDriverName, "deletionPolicy": "Delete",
		}}
		if _, err := env.dyn.Resource(cluster.VolumeSnapshotClassGVR).Create(t.Context(), second, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = env.dyn.Resource(cluster.VolumeSnapshotClassGVR).Delete(context.Background(), "second-snap", metav1.DeleteOptions{})
		})
		fails(t, "two-classes", "csi-snapshot", ns, pod, `{}`, `phase "snap"`, env.c.SnapshotClass, "second-snap")
	})
	t.Run("freeze command fails", func(t *testing.T) {
		params := `{"freezeCommand": ["sh", "-c", "touch /run/basic-app/freeze; echo cannot freeze the app >&2; exit 3"],
		            "releaseCommand": ["rm", "-f", "/run/basic-app/freeze"]}`
		fails(t, "freeze-fails", "quiesced-snapshot", ns, pod, params, `phase "freeze"`, "cannot freeze the app")
	})
	t.Run("snapshot times out", func(t *testing.T) {
		var params map[string]any
		decodeJSON(t, []byte(basicAppParams), &params)
		params["timeout"] = "5s"
		raw, _ := json.Marshal(params)
		fails(t, "times-out", "quiesced-snapshot", slowNS, slowPod, string(raw), `phase "snap"`, "5s")
	})
}

// annotateClass sets the snapflow.dev/is-snapshot-class annotation of a
// VolumeSnapshotClass for one test and puts "true" back after it.
func annotateClass(t *testing.T, name, value string) {
	t.Helper()
	set := func(ctx context.Context, v string) error {
		patch := []byte(`{"metadata":{"annotations":{"snapflow.dev/is-snapshot-class":"` + v + `"}}}`)
		_, err := env.dyn.Resource(cluster.VolumeSnapshotClassGVR).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	}
	if err := set(t.Context(), value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set(context.Background(), "true"); err != nil {
			t.Errorf("restore the annotation of %s: %v", name, err)
		}
	})
}
