//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// TestDisasterRecovery is seed 001's story on two local clusters that
// share Azurite and the local Azure Resource Manager: basic-app in east,
// on the Azure-disk class with 64 MiB of random data, backs up with
// csi-snapshot's DR variant (snapshot, crossRegionCopy by CopyStart to
// westus, the restore point and the app's objects on a Location in
// westus). The east cluster is stopped entirely. In west, knowing nothing
// of east, the restore points are listed on the Location and one is
// restored: the app runs with its data byte-identical up to the cut.
func TestDisasterRecovery(t *testing.T) {
	sh, east, west := startDRPair(t)
	const sets, app = "dr-sets", "dr-app"
	container := "dr-" + randomHex(t, 6)

	east.namespace(t, sets)
	east.namespace(t, app)
	east.libraryBlueprint(t, sets, "csi-snapshot")
	east.drLocation(t, sh, sets, container)
	east.controller(t, sh, sets)
	pod := drBasicApp(t, east, app)
	blobSum := east.exec(t, app, pod, "head -c 67108864 /dev/urandom > /data/blob && sha256sum /data/blob | cut -d' ' -f1")

	backup := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: "dr-backup"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "backup",
			Object:   v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: app, Name: "basic-app"},
			Location: &v1alpha1.LocalObjectReference{Name: "dr"},
			Params: jsonArgs(t, fmt.Sprintf(`{"drRegion": "westus", "drResourceGroup": %q, "drMethod": "copyStart", "drCredentials": "azure"}`,
				cluster.DRResourceGroup)),
		},
	}
	if err := east.cl.Create(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	done := east.finished(t, sets, backup.Name)
	mustSucceed(t, done)
	var copies []struct {
		SnapshotID, Method, Region string
		Bytes                      int64
	}
	phaseOutput(t, done, "dr", "copies", &copies)
	if len(copies) != 1 || copies[0].Method != "copyStart" || copies[0].Region != "westus" ||
		!strings.Contains(strings.ToLower(copies[0].SnapshotID), "/resourcegroups/"+cluster.DRResourceGroup+"/") {
		t.Fatalf("DR copies = %+v, want one copyStart copy in %s", copies, cluster.DRResourceGroup)
	}
	var snaps []snapshotOut
	phaseOutput(t, done, "snap", "snapshots", &snaps)
	cut := parseTime(t, snaps[0].CreationTime)
	original := strings.Fields(east.exec(t, app, pod, "cat /data/date.txt"))
	restorePoint := artifactString(t, done, "restorePoint")

	// The disaster: the east region is gone.
	east.c.Stop()

	west.namespace(t, sets)
	west.libraryBlueprint(t, sets, "csi-snapshot")
	west.drLocation(t, sh, sets, container)
	west.controller(t, sh, sets)
	listed := west.kubectl(t, "", "snapflow", "restorepoints", "--location", "dr", "-n", sets)
	if !strings.Contains(listed, restorePoint) || !strings.Contains(listed, "Deployment/basic-app") {
		t.Fatalf("restorepoints --location dr in west:\n%s\nwant restore point %s of Deployment/basic-app", listed, restorePoint)
	}
	created := strings.TrimSpace(west.kubectl(t, "", "snapflow", "restore", "--location", "dr", "--restore-point", restorePoint, "-n", sets))
	restored := west.finished(t, sets, created)
	mustSucceed(t, restored)
	objects := phaseStatus(restored, "objects")
	if objects == nil || objects.State != v1alpha1.PhaseSucceeded || objects.StartTime == nil {
		t.Fatalf("the objects phase: %+v, want it to have recreated basic-app", objects)
	}

	pod = west.appPod(t, app)
	if got := west.exec(t, app, pod, "sha256sum /data/blob | cut -d' ' -f1"); got != blobSum {
		t.Errorf("the restored blob's sha256 is %s, the backed-up one's %s", strings.TrimSpace(got), strings.TrimSpace(blobSum))
	}
	compareLines(t, original, strings.Fields(west.exec(t, app, pod, "cat /data/date.txt")), cut, objects.StartTime.Time)
	for _, what := range []string{"actionsets.snapflow.dev", "events"} {
		for _, leak := range leakedIn(west.kubectl(t, "", "get", what, "-n", sets, "-o", "json"), []string{sh.ClientSecret, repoPassword}) {
			t.Errorf("%s appears in %s of west's %s", leak, what, sets)
		}
	}
}

// drBasicApp deploys basic-app into ns of r on the cluster's default
// class (the Azure-disk one) and waits until it has written a few lines.
func drBasicApp(t *testing.T, r *region, ns string) string {
	t.Helper()
	claim := fmt.Sprintf("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: %s}\nspec:\n  storageClassName: %s\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
		ns, r.c.StorageClass)
	r.kubectl(t, claim+"---\n"+basicAppDeployment(t, ns, 1), "apply", "-f", "-")
	pod := r.appPod(t, ns)
	eventually(t, "basic-app writes 3 lines in "+r.c.Name, func(ctx context.Context) (bool, error) {
		return len(strings.Fields(r.exec(t, ns, pod, "cat /data/date.txt 2>/dev/null || true"))) >= 3, nil
	})
	return pod
}

// compareLines checks a restored date.txt: the lines up to the cut are
// the original's, and the first line after them is written no earlier
// than restoredAt (whole seconds).
func compareLines(t *testing.T, original, got []string, cut, restoredAt time.Time) {
	t.Helper()
	k := slices.IndexFunc(got, func(l string) bool { return parseTime(t, l).After(cut) })
	if k < 0 {
		k = len(got)
	}
	before := slices.IndexFunc(original, func(l string) bool { return !parseTime(t, l).Before(cut.Truncate(time.Second)) })
	if before < 0 {
		before = len(original)
	}
	if k < before || k > len(original) {
		t.Fatalf("restored %d lines; the original had %d before the cut at %s", k, before, cut)
	}
	if diff := cmp.Diff(original[:k], got[:k]); diff != "" {
		t.Errorf("restored lines up to the cut (-original +restored):\n%s", diff)
	}
	if k < len(got) {
		if first := parseTime(t, got[k]); first.Before(restoredAt.Truncate(time.Second)) {
			t.Errorf("the first line after the cut, %s, is before the restore at %s", first, restoredAt)
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
