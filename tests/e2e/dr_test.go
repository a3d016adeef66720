//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// TestDisasterRecovery is seed 001's story on two local clusters that
// share Azurite and the local Azure Resource Manager: basic-app in east,
// on the Azure-disk class with 64 MiB of random data, backs up with
// csi-snapshot's DR variant (snapshot, crossRegionCopy by CopyStart to
// westus, the restore point and the app's objects on a Location in
// westus). After a 1% change a second backup's copy moves only the
// changed blocks, though the controller is killed while it copies (the
// restarted one adopts the copy: no second DR snapshot). A wrong client
// secret fails at once with Entra ID's error and leaks nowhere; a 429 is
// retried; a source deleted mid-copy fails with CopySourceNotFound. Then the
// east cluster is stopped entirely. In west, knowing nothing of east, the
// restore points are listed on the Location and the second is restored:
// the app runs with its data byte-identical up to the cut.
func TestDisasterRecovery(t *testing.T) {
	sh, east, west := startDRPair(t)
	const sets, app = "dr-sets", "dr-app"
	container := "dr-" + randomHex(t, 6)

	east.namespace(t, sets)
	east.namespace(t, app)
	east.libraryBlueprint(t, sets, "csi-snapshot")
	east.drLocation(t, sh, sets, container)
	wrongSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: "azure-wrong"}, StringData: map[string]string{
		"azureTenantID": sh.TenantID, "azureClientID": sh.ClientID, "azureClientSecret": wrongClientSecret}}
	if _, err := east.kube.CoreV1().Secrets(sets).Create(t.Context(), wrongSecret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrl := east.controller(t, sh, sets, wrongClientSecret)
	az := newDRAzure(t, sh)
	pod := drBasicApp(t, east, app)
	east.exec(t, app, pod, "head -c 67108864 /dev/urandom > /data/blob")

	// Throttled by Resource Manager (429, Retry-After), the copy goes on.
	az.control(t, http.MethodPost, "throttle=3", nil)
	first := drBackup(t, east, sets, app, "dr-backup", "azure")
	mustSucceed(t, first)
	if n := az.throttled(t); n != 3 {
		t.Errorf("the local ARM throttled %d requests, want the 3 asked for", n)
	}
	copies := drCopiesOf(t, first, "copyStart")
	full := az.copyBytes(t, copies[0].SnapshotID)
	if full < 64<<20 {
		t.Errorf("the first copy moved %d bytes, want at least the 64 MiB written", full)
	}

	// 1% of the data changes; the controller is killed while the second
	// copy runs, and the restarted one adopts it: one more DR snapshot,
	// holding only the changed bytes' blocks.
	blobSum := east.exec(t, app, pod, "head -c 655360 /dev/urandom | dd of=/data/blob bs=65536 seek=160 conv=notrunc 2>/dev/null; sha256sum /data/blob | cut -d' ' -f1")
	second := drBackupStarted(t, east, sets, app, "dr-backup-2", "azure")
	waitActionSet(t, east.cl, client.ObjectKey{Namespace: sets, Name: second}, "in phase dr", func(as *v1alpha1.ActionSet) bool {
		return as.Status.CurrentPhase == "dr"
	})
	eventually(t, "the second copy started", func(context.Context) (bool, error) { return az.drSnapshots(t) == 2, nil })
	ctrl.kill()
	if as := east.get(t, sets, second); as.Status.CurrentPhase != "dr" || as.Status.State.Final() {
		t.Fatalf("the controller was killed after the copy (%s, phase %q), not during it", as.Status.State, as.Status.CurrentPhase)
	}
	east.controller(t, sh, sets, wrongClientSecret)
	done := east.finished(t, sets, second)
	mustSucceed(t, done)
	copies = drCopiesOf(t, done, "copyStart")
	if n := az.drSnapshots(t); n != 2 {
		t.Errorf("%d snapshots in the DR resource group after two backups, want 2: a resumed copy must not start another", n)
	}
	if moved := az.copyBytes(t, copies[0].SnapshotID); moved <= 0 || moved > full/10 {
		t.Errorf("the copy after a 1%% change moved %d bytes of %d, want only the changed blocks", moved, full)
	}

	// A source deleted while its copy runs fails the copy with Azure's
	// CopySourceNotFound, and the useless copy is deleted.
	gone := drBackupStarted(t, east, sets, app, "dr-source-gone", "azure")
	var source string
	waitActionSet(t, east.cl, client.ObjectKey{Namespace: sets, Name: gone}, "in phase dr", func(as *v1alpha1.ActionSet) bool {
		if as.Status.CurrentPhase != "dr" {
			return false
		}
		var s []snapshotOut
		phaseOutput(t, as, "snap", "snapshots", &s)
		source = s[0].SnapshotHandle
		return true
	})
	eventually(t, "the third copy started", func(context.Context) (bool, error) { return az.drSnapshots(t) == 3, nil })
	az.deleteSnapshot(t, source)
	failed := east.finished(t, sets, gone)
	if failed.Status.State != v1alpha1.ActionSetFailed || !strings.Contains(failed.Status.Message, `phase "dr"`) || !strings.Contains(failed.Status.Message, "CopySourceNotFound") {
		t.Errorf("with the source deleted mid-copy: %s %q, want Failed in phase dr saying CopySourceNotFound", failed.Status.State, failed.Status.Message)
	}
	if n := az.drSnapshots(t); n != 2 {
		t.Errorf("%d snapshots in the DR resource group after the failed copy, want it deleted (2)", n)
	}

	// A wrong client secret fails the copy at once, with the error of
	// Entra ID, and the secret appears nowhere.
	wrong := drBackup(t, east, sets, app, "dr-wrong-secret", "azure-wrong")
	if wrong.Status.State != v1alpha1.ActionSetFailed || !strings.Contains(wrong.Status.Message, `phase "dr"`) || !strings.Contains(wrong.Status.Message, "AADSTS7000215") {
		t.Errorf("with a wrong client secret: %s %q, want Failed in phase dr saying AADSTS7000215", wrong.Status.State, wrong.Status.Message)
	}
	for _, what := range []string{"actionsets.snapflow.dev", "events"} {
		for _, leak := range leakedIn(east.kubectl(t, "", "get", what, "-n", sets, "-o", "json"), []string{sh.ClientSecret, wrongClientSecret, repoPassword}) {
			t.Errorf("%s appears in %s of east's %s", leak, what, sets)
		}
	}

	// A full snapshot (which CopyStart cannot take) goes as a VHD through
	// a page blob of the DR Location; no access stays granted and no blob
	// stays behind.
	fullClass(t, east)
	vhd := drBackup(t, east, sets, app, "dr-vhd", "azure", `"volumeSnapshotClass": "csi-azuredisk-full"`, `"drMethod": "auto"`)
	mustSucceed(t, vhd)
	drCopiesOf(t, vhd, "vhd")
	var stats struct{ ActiveSAS int }
	az.control(t, http.MethodGet, "stats", &stats)
	if stats.ActiveSAS != 0 {
		t.Errorf("%d grants of access still open after the VHD copy", stats.ActiveSAS)
	}
	if n := vhdBlobs(t, sh); n != 0 {
		t.Errorf("%d page blobs left in the DR Location's vhdcontainers", n)
	}
	vhdPoint := artifactString(t, vhd, "restorePoint")

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
	// The VHD copy restores too, into another namespace.
	created = strings.TrimSpace(west.kubectl(t, "", "snapflow", "restore", "--location", "dr", "--restore-point", vhdPoint, "-n", sets, "--to-namespace", app+"-vhd"))
	mustSucceed(t, west.finished(t, sets, created))
	vhdPod := west.appPod(t, app+"-vhd")
	if got := west.exec(t, app+"-vhd", vhdPod, "sha256sum /data/blob | cut -d' ' -f1"); got != blobSum {
		t.Errorf("the blob restored from the VHD copy has sha256 %s, want %s", strings.TrimSpace(got), strings.TrimSpace(blobSum))
	}
	for _, what := range []string{"actionsets.snapflow.dev", "events"} {
		for _, leak := range leakedIn(west.kubectl(t, "", "get", what, "-n", sets, "-o", "json"), []string{sh.ClientSecret, repoPassword}) {
			t.Errorf("%s appears in %s of west's %s", leak, what, sets)
		}
	}
}

// wrongClientSecret is the secret of the Secret azure-wrong.
const wrongClientSecret = "e2e-Wrong-client-5ecret-must-not-leak"

// drBackup runs csi-snapshot's DR variant on basic-app with the Azure
// credentials of Secret credentials, and waits until it ends.
func drBackup(t *testing.T, r *region, sets, app, name, credentials string, extra ...string) *v1alpha1.ActionSet {
	t.Helper()
	return r.finished(t, sets, drBackupStarted(t, r, sets, app, name, credentials, extra...))
}

// drBackupStarted creates the ActionSet of drBackup and returns its name;
// extra params (JSON members) override the defaults.
func drBackupStarted(t *testing.T, r *region, sets, app, name, credentials string, extra ...string) string {
	t.Helper()
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "backup",
			Object:   v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: app, Name: "basic-app"},
			Location: &v1alpha1.LocalObjectReference{Name: "dr"},
			Params: jsonArgs(t, fmt.Sprintf(`{"drRegion": "westus", "drResourceGroup": %q, "drCredentials": %q, %s}`,
				cluster.DRResourceGroup, credentials, strings.Join(append([]string{`"drMethod": "copyStart"`}, extra...), ", "))),
		},
	}
	if err := r.cl.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	return name
}

// drCopy is what the tests read of crossRegionCopy's outputs.
type drCopy struct {
	SnapshotID, Method, Region string
	Bytes                      int64
}

// drCopiesOf is the dr phase's one copy, checked to be a copyStart copy in
// the DR resource group.
func drCopiesOf(t *testing.T, as *v1alpha1.ActionSet, method string) []drCopy {
	t.Helper()
	var copies []drCopy
	phaseOutput(t, as, "dr", "copies", &copies)
	if len(copies) != 1 || copies[0].Method != method || copies[0].Region != "westus" ||
		!strings.Contains(strings.ToLower(copies[0].SnapshotID), "/resourcegroups/"+cluster.DRResourceGroup+"/") {
		t.Fatalf("DR copies of %s = %+v, want one %s copy in %s", as.Name, copies, method, cluster.DRResourceGroup)
	}
	return copies
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

// fullClass is a VolumeSnapshotClass of the Azure-disk driver whose
// snapshots are full, not incremental.
func fullClass(t *testing.T, r *region) {
	t.Helper()
	vsc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": "csi-azuredisk-full"},
		"driver":   r.c.CSIDriver, "deletionPolicy": "Delete",
		"parameters": map[string]any{"incremental": "false"},
	}}
	if _, err := r.dyn.Resource(cluster.VolumeSnapshotClassGVR).Create(t.Context(), vsc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// vhdBlobs counts the blobs in the DR Location's vhdcontainers.
func vhdBlobs(t *testing.T, sh *cluster.Shared) int {
	t.Helper()
	c, err := azureblob.ContainerClient(&azureblob.Options{Endpoint: sh.AzuriteEndpoint + "/westus", AccountName: "westus",
		AccountKey: sh.AzuriteAccounts["westus"], Container: "vhdcontainers"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for pager := c.NewListBlobsFlatPager(nil); pager.More(); {
		page, err := pager.NextPage(t.Context())
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Segment.BlobItems)
	}
	return n
}
