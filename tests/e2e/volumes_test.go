//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// basicAppParams freeze basic-app the way examples/basic-app does.
const basicAppParams = `{
  "freezeCommand": ["sh", "-c", "touch /run/basic-app/freeze; until [ -e /run/basic-app/frozen ]; do sleep 0.2; done"],
  "releaseCommand": ["rm", "-f", "/run/basic-app/freeze"]
}`

// TestBasicAppBackupRestore backs up basic-app with the quiesced-snapshot
// blueprint on a class whose snapshots are ready 3s after they are cut,
// restores it into another namespace, deletes the app's namespace, and
// restores it from the retained snapshots. The restored data is the
// original's, byte for byte, up to the snapshot; the freeze ended before
// the snapshot was ready.
func TestBasicAppBackupRestore(t *testing.T) {
	c := startController(t)
	sets := namespace(t, "vol-sets")
	app := namespace(t, "vol-app")
	class := slowClass(t, "snapflow-ready-3s", "3s")
	libraryBlueprint(t, c, sets, "quiesced-snapshot")
	pod := basicApp(t, app, class)

	backup := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: "backup"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "quiesced-snapshot"},
			Action:    "backup",
			Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: app, Name: "basic-app"},
			Params:    jsonArgs(t, basicAppParams),
		},
	}
	if err := c.Create(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, sets, "backup")
	mustSucceed(t, done)
	if appFrozen(t, app, pod) {
		t.Errorf("basic-app is still frozen after the backup")
	}

	var snaps []snapshotOut
	phaseOutput(t, done, "snap", "snapshots", &snaps)
	if len(snaps) != 1 || snaps[0].PVC != "data" || snaps[0].SnapshotHandle == "" {
		t.Fatalf("snapshots = %+v, want one of claim data with a handle", snaps)
	}
	var frozenAt, held string
	phaseOutput(t, done, "freeze", "frozenAt", &frozenAt)
	phaseOutput(t, done, "snap", "quiesceHold", &held)
	hold, err := time.ParseDuration(held)
	if err != nil {
		t.Fatalf("quiesceHold %q: %v", held, err)
	}
	// The driver makes the snapshot ready 3s after its creation time.
	released := parseTime(t, frozenAt).Add(hold)
	ready := parseTime(t, snaps[0].CreationTime).Add(3 * time.Second)
	if hold <= 0 || !released.Before(ready) {
		t.Errorf("hold %s released at %s, snapshot ready at %s: the freeze must end before ready", hold, released, ready)
	}
	t.Logf("quiesce hold %s; released %s before ready", hold, ready.Sub(released).Round(time.Millisecond))

	cut := parseTime(t, snaps[0].CreationTime)
	original := appLines(t, app, pod)

	// Restore next to the running app (the pre-provisioned path) into a
	// copy of the app scaled to 0, which the blueprint scales up.
	copyNS := namespace(t, "vol-app-copy")
	kubectlIn(t, basicAppDeployment(t, copyNS, 0), "apply", "-f", "-")
	restoreAndCompare(t, c, sets, "restore-copy", copyNS, original, cut)

	// The disaster: the app's namespace goes, its snapshots stay.
	if err := env.kube.CoreV1().Namespaces().Delete(t.Context(), app, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace "+app+" deleted", func(ctx context.Context) (bool, error) {
		_, err := env.kube.CoreV1().Namespaces().Get(ctx, app, metav1.GetOptions{})
		return gone(err), client.IgnoreNotFound(err)
	})
	if _, err := env.dyn.Resource(volumeSnapshotContentGVR).Get(t.Context(), snaps[0].Content, metav1.GetOptions{}); err != nil {
		t.Fatalf("the retained VolumeSnapshotContent must outlive the namespace: %v", err)
	}
	restoreAndCompare(t, c, sets, "restore-lost", app, original, cut)
}

// restoreAndCompare restores the backup ActionSet into ns with the
// quiesced-snapshot blueprint, and compares (compareRestored).
func restoreAndCompare(t *testing.T, c client.Client, sets, name, ns string, original []string, cut time.Time) {
	t.Helper()
	restore := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "quiesced-snapshot"},
			Action:    "restore",
			Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "basic-app"},
			Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: "backup"},
			Params:    jsonArgs(t, `{"scaleTo": 1}`),
		},
	}
	if err := c.Create(t.Context(), restore); err != nil {
		t.Fatal(err)
	}
	compareRestored(t, c, sets, name, ns, original, cut)
}

// compareRestored waits for the restore ActionSet name, starts basic-app
// on the restored claim unless the restore scaled it up, and checks its
// file: the lines of the snapshot, identical to the original's, then a
// break, then lines written after the restore.
func compareRestored(t *testing.T, c client.Client, sets, name, ns string, original []string, cut time.Time) {
	t.Helper()
	done := finished(t, c, sets, name)
	mustSucceed(t, done)
	waitBound(t, ns, "data")
	scaled := done.Status.Phases[len(done.Status.Phases)-1]
	if scaled.Name != "scaleUp" {
		t.Fatalf("last phase %s, want scaleUp", scaled.Name)
	}
	// The app may write again from the moment something starts it: the
	// objects phase's recorded start when it recreated and scaled the app,
	// the scaleUp phase's, or the apply below.
	var restoredAt time.Time
	objects := phaseStatus(done, "objects")
	switch {
	case objects != nil && objects.State == v1alpha1.PhaseSucceeded && scaled.State == v1alpha1.PhaseSkipped:
		var scaledUp []string
		phaseOutput(t, done, "objects", "scaled", &scaledUp)
		if len(scaledUp) != 1 || objects.StartTime == nil {
			t.Fatalf("the objects phase scaled %v (started %v), want basic-app scaled back up", scaledUp, objects.StartTime)
		}
		restoredAt = objects.StartTime.Time
	case scaled.State == v1alpha1.PhaseSkipped: // the app did not exist
		restoredAt = time.Now()
		kubectlIn(t, basicAppDeployment(t, ns, 1), "apply", "-f", "-")
	default:
		if scaled.StartTime == nil {
			t.Fatalf("phase scaleUp %s has no start time", scaled.State)
		}
		restoredAt = scaled.StartTime.Time
	}
	pod := appPod(t, ns)
	// Lines carry whole seconds: the snapshot's are at most the cut's
	// second, the restored app's at least the restore's, seconds later.
	var got []string
	var k int
	eventually(t, "restored basic-app writes again", func(ctx context.Context) (bool, error) {
		got = appLines(t, ns, pod)
		k = slices.IndexFunc(got, func(l string) bool { return parseTime(t, l).After(cut) })
		return k >= 0, nil
	})
	before := slices.IndexFunc(original, func(l string) bool { return !parseTime(t, l).Before(cut.Truncate(time.Second)) })
	if k < before || k > len(original) {
		t.Fatalf("restored %d lines from the snapshot; the original had %d before the cut at %s", k, before, cut)
	}
	if diff := cmp.Diff(original[:k], got[:k]); diff != "" {
		t.Errorf("restored lines up to the snapshot (-original +restored):\n%s", diff)
	}
	if first := parseTime(t, got[k]); first.Before(restoredAt.Truncate(time.Second)) {
		t.Errorf("the first line after the snapshot, %s, is before the restore at %s: no break", first, restoredAt)
	}
	t.Logf("%s: %d lines restored up to %s, writing again from %s (scaleUp %s)", name, k, got[k-1], got[k], scaled.State)
}

// phaseStatus is the status of phase name of as, or nil.
func phaseStatus(as *v1alpha1.ActionSet, name string) *v1alpha1.PhaseStatus {
	for i := range as.Status.Phases {
		if as.Status.Phases[i].Name == name {
			return &as.Status.Phases[i]
		}
	}
	return nil
}

// basicAppDeployment is examples/basic-app's Deployment in ns.
func basicAppDeployment(t *testing.T, ns string, replicas int) string {
	t.Helper()
	data, err := os.ReadFile(repoPath("examples", "basic-app", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "namespace: basic-app", "namespace: "+ns)
	return strings.Replace(doc, "replicas: 1", fmt.Sprintf("replicas: %d", replicas), 1)
}
