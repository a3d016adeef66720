//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// repoPassword is the test repository's password; the test scans for it
// where secrets must never appear.
const repoPassword = "e2e-Repo-Pa55word-must-not-leak"

// TestExportRestore backs up basic-app with csi-snapshot's 3-2-1 variant
// to a filesystem Location and to an azure one (Azurite), deletes the
// app's namespace and its snapshots, and restores from the export alone:
// the data is the original's up to the snapshot. The password and the
// storage key appear nowhere they must not.
func TestExportRestore(t *testing.T) {
	c := startController(t)
	sets := namespace(t, "exp-sets")
	libraryBlueprint(t, c, sets, "csi-snapshot")
	t.Run("filesystem", func(t *testing.T) {
		path := t.TempDir()
		filesystemLocation(t, c, sets, "fs", path, repoPassword)
		app := exportRestore(t, c, sets, "fs", env.c.StorageClass, repoPassword)
		again := wrongPasswordKeepsRepository(t, c, sets, app, path)
		retentionThenDelete(t, c, sets, "fs", again)
	})
	t.Run("azure", func(t *testing.T) {
		key := azureLocation(t, c, sets, "az")
		exportRestore(t, c, sets, "az", env.c.StorageClass, repoPassword, key)
	})
	// Most clouds' default classes bind a claim only for its first pod:
	// the restore's mover must be that pod and fill the claim.
	t.Run("filesystem, WaitForFirstConsumer", func(t *testing.T) {
		filesystemLocation(t, c, sets, "fs-wffc", t.TempDir(), repoPassword)
		exportRestore(t, c, sets, "fs-wffc", cluster.StorageClassWFFC, repoPassword)
	})
}

// exportRestore runs the backup, the loss and the restore through
// Location loc of an app whose claim is of storageClass, checks that none
// of secrets leaked, and returns the app's namespace, where the restored
// app runs.
func exportRestore(t *testing.T, c client.Client, sets, loc, storageClass string, secrets ...string) string {
	app := namespace(t, "exp-app-"+loc)
	movers := captureMoverLogs(t, sets, app)
	pod := basicApp(t, app, storageClass)

	backup := createBackup(t, c, sets, loc+"-backup", app, loc)
	done := finished(t, c, sets, loc+"-backup")
	mustSucceed(t, done)
	var snaps []snapshotOut
	phaseOutput(t, done, "snap", "snapshots", &snaps)
	var exports []struct {
		SnapshotID string `json:"snapshotID"`
		BytesTotal int64  `json:"bytesTotal"`
		BytesNew   int64  `json:"bytesNew"`
	}
	phaseOutput(t, done, "upload", "exports", &exports)
	if len(exports) != 1 || exports[0].SnapshotID == "" || exports[0].BytesTotal == 0 {
		t.Fatalf("exports = %+v, want one with a snapshot of the data", exports)
	}
	cut := parseTime(t, snaps[0].CreationTime)
	original := appLines(t, app, pod)
	restorePoint := artifactString(t, done, "restorePoint")

	loseEverything(t, c, sets, loc, backup, snaps[0].Content)

	// With nothing left but the Location, find the restore point there and
	// restore it.
	path := pluginPATH(t)
	listed, _ := kubectlPlugin(t, path, "snapflow", "restorepoints", "--location", loc, "-n", sets)
	if !strings.Contains(listed, restorePoint) || !strings.Contains(listed, "Deployment/basic-app") {
		t.Fatalf("restorepoints --location %s:\n%s\nwant restore point %s of Deployment/basic-app", loc, listed, restorePoint)
	}
	created, _ := kubectlPlugin(t, path, "snapflow", "restore", "--location", loc, "--restore-point", restorePoint, "-n", sets)
	compareRestored(t, c, sets, strings.TrimSpace(created), app, original, cut)
	noSecretsLeaked(t, secrets, movers, sets, app)
	return app
}

// loseEverything deletes what a cluster loses in a disaster: the backup's
// snapshots (through the delete action, keeping the exports), the app's
// namespace, and the backup ActionSet itself.
func loseEverything(t *testing.T, c client.Client, sets, loc string, backup *v1alpha1.ActionSet, content string) {
	t.Helper()
	retire := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: loc + "-retire"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "delete",
			Object: backup.Spec.Object, Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: backup.Name},
			Params: jsonArgs(t, `{"keepExports": true}`),
		},
	}
	if err := c.Create(t.Context(), retire); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, finished(t, c, sets, retire.Name))
	app := backup.Spec.Object.Namespace
	if err := env.kube.CoreV1().Namespaces().Delete(t.Context(), app, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace "+app+" deleted", func(ctx context.Context) (bool, error) {
		_, err := env.kube.CoreV1().Namespaces().Get(ctx, app, metav1.GetOptions{})
		return gone(err), client.IgnoreNotFound(err)
	})
	if _, err := env.dyn.Resource(volumeSnapshotContentGVR).Get(t.Context(), content, metav1.GetOptions{}); !gone(err) {
		t.Fatalf("the snapshot's content must be gone before the restore: %v", err)
	}
}

// artifactString is the string artifact name of a finished ActionSet.
func artifactString(t *testing.T, as *v1alpha1.ActionSet, name string) string {
	t.Helper()
	var v string
	if err := json.Unmarshal(as.Status.Artifacts[name].Raw, &v); err != nil || v == "" {
		t.Fatalf("artifact %s = %s (%v), want a non-empty string", name, as.Status.Artifacts[name].Raw, err)
	}
	return v
}

// wrongPasswordKeepsRepository exports the restored app through a second
// Location on the same path with a wrong password: the export fails
// clearly, at once (the error is permanent), and the repository is
// intact, since an export with the right password then succeeds.
// (Incremental sizes are measured in functions/kopia/repository's tests,
// on data large enough for them to mean something.)
func wrongPasswordKeepsRepository(t *testing.T, c client.Client, sets, app, path string) *v1alpha1.ActionSet {
	filesystemLocation(t, c, sets, "fs-wrong", path, "not-the-password")
	backup := func(name, loc string) *v1alpha1.ActionSet {
		createBackup(t, c, sets, name, app, loc)
		return finished(t, c, sets, name)
	}
	bad := backup("fs-wrong-password", "fs-wrong")
	if bad.Status.State != v1alpha1.ActionSetFailed || !strings.Contains(bad.Status.Message, "wrong repository password") {
		t.Fatalf("export with a wrong password: %s, %q; want Failed saying wrong repository password", bad.Status.State, bad.Status.Message)
	}
	good := backup("fs-again", "fs")
	mustSucceed(t, good)
	var exports []struct {
		SnapshotID string `json:"snapshotID"`
	}
	phaseOutput(t, good, "upload", "exports", &exports)
	if len(exports) != 1 || exports[0].SnapshotID == "" {
		t.Errorf("export after the wrong password: %+v, want a snapshot in the intact repository", exports)
	}
	return good
}

// retentionThenDelete runs retention on Location loc, which holds two
// restore points of basic-app, keeping one: the newest, latest's, stays.
// Then latest's delete action deletes its export and restore point from
// the Location too, which leaves it empty.
func retentionThenDelete(t *testing.T, c client.Client, sets, loc string, latest *v1alpha1.ActionSet) {
	path := pluginPATH(t)
	keep := artifactString(t, latest, "restorePoint")
	out, _ := kubectlPlugin(t, path, "snapflow", "retention", "--location", loc, "--keep", "1", "--unsafe-maintenance", "-n", sets)
	if !strings.Contains(out, "2 restore points, deleted 1, kept 1") || !strings.Contains(out, "maintenance done") {
		t.Errorf("retention --keep 1 printed:\n%s\nwant one of two restore points deleted, then maintenance", out)
	}
	listed, _ := kubectlPlugin(t, path, "snapflow", "restorepoints", "--location", loc, "-n", sets)
	if lines := strings.Split(strings.TrimSpace(listed), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], keep) {
		t.Fatalf("after retention:\n%s\nwant only restore point %s", listed, keep)
	}

	del := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: loc + "-delete-latest"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "delete",
			Object: latest.Spec.Object, Location: &v1alpha1.LocalObjectReference{Name: loc},
			Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: latest.Name},
		},
	}
	if err := c.Create(t.Context(), del); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, sets, del.Name)
	mustSucceed(t, done)
	var n int
	phaseOutput(t, done, "retire", "exportsDeleted", &n)
	if n != 1 {
		t.Errorf("delete action deleted %d exports, want 1", n)
	}
	listed, empty := kubectlPlugin(t, path, "snapflow", "restorepoints", "--location", loc, "-n", sets)
	if listed != "" || !strings.Contains(empty, "No restore points") {
		t.Errorf("after the delete action, restorepoints printed %q, %q; want none", listed, empty)
	}
}

// createBackup starts csi-snapshot's backup of basic-app in app, with the
// export to Location loc, and returns the ActionSet as created.
func createBackup(t *testing.T, c client.Client, sets, name, app, loc string) *v1alpha1.ActionSet {
	t.Helper()
	return createBackupWith(t, c, sets, name, app, loc, `{"export": true}`)
}

// createBackupWith is createBackup with the ActionSet's params as JSON.
func createBackupWith(t *testing.T, c client.Client, sets, name, app, loc, params string) *v1alpha1.ActionSet {
	t.Helper()
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "backup",
			Object:   v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: app, Name: "basic-app"},
			Location: &v1alpha1.LocalObjectReference{Name: loc},
			Params:   jsonArgs(t, params),
		},
	}
	if err := c.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	return as
}

// filesystemLocation creates a filesystem Location at path with its
// password Secret.
func filesystemLocation(t *testing.T, c client.Client, ns, name, path, password string) {
	t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-password"}, StringData: map[string]string{"password": password}}
	if _, err := env.kube.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	loc := &v1alpha1.Location{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: path,
			RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: secret.Name}},
	}
	if err := c.Create(t.Context(), loc); err != nil {
		t.Fatal(err)
	}
}

// azureLocation creates an azure Location on Azurite's eastus account,
// with a new container, and its credentials and password Secrets; it
// returns the account key.
func azureLocation(t *testing.T, c client.Client, ns, name string) string {
	t.Helper()
	key := env.c.AzuriteAccounts["eastus"]
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-credentials"},
		StringData: map[string]string{"azureStorageAccount": "eastus", "azureStorageKey": key}}
	password := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-password"}, StringData: map[string]string{"password": repoPassword}}
	for _, s := range []*corev1.Secret{creds, password} {
		if _, err := env.kube.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	loc := &v1alpha1.Location{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Endpoint: env.c.AzuriteEndpoint + "/eastus",
			Container: azbNewContainer(t, "eastus"), Prefix: "e2e",
			CredentialsSecretRef:        &v1alpha1.SecretReference{Name: creds.Name},
			RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: password.Name}},
	}
	if err := c.Create(t.Context(), loc); err != nil {
		t.Fatal(err)
	}
	return key
}
