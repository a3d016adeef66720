package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopia/kopia/snapshot"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const locationPassword = "plugin-test-Pa55word"

// locationFixture is a real kopia repository in a filesystem Location,
// with two restore points of basic-app, and a fake cluster (fake dynamic
// client) holding the Location, its password Secret and the blueprint.
type locationFixture struct {
	client        dynamic.Interface
	older, newer  string // restore point IDs
	olderSnapshot string
}

func newLocationFixture(t *testing.T) locationFixture {
	t.Helper()
	ctx := t.Context()
	spec := v1alpha1.LocationSpec{
		Type: v1alpha1.LocationTypeFilesystem, Path: t.TempDir(),
		RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: "repo-password"},
	}
	st, err := repository.NewStorage(ctx, spec, repository.Credentials{}, true)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := repository.Open(ctx, st, locationPassword, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close(context.WithoutCancel(ctx))

	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "date.txt"), []byte("2026-11-22"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "basic-app"}
	put := func(at time.Time) (string, string) {
		res, err := repository.Upload(ctx, rep, src, snapshot.SourceInfo{Host: "test", UserName: "shop", Path: "data"}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := repository.PutRestorePoint(ctx, rep, repository.RestorePoint{
			Time: at, Blueprint: "csi-snapshot", Action: "backup", Object: obj,
			Artifacts: map[string]any{"exports": []any{map[string]any{"pvc": "data", "snapshotID": res.SnapshotID}}},
			Snapshots: map[string]string{"shop/data": res.SnapshotID},
		})
		if err != nil {
			t.Fatal(err)
		}
		return id, res.SnapshotID
	}
	var f locationFixture
	f.older, f.olderSnapshot = put(now.Add(-2 * time.Hour))
	f.newer, _ = put(now.Add(-time.Hour))

	loc := &v1alpha1.Location{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Location"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "offsite"},
		Spec:       spec,
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "repo-password"},
		Data:       map[string][]byte{"password": []byte(locationPassword)},
	}
	bp := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(), "kind": "Blueprint",
		"metadata": map[string]any{"namespace": "shop", "name": "csi-snapshot"},
		"spec":     map[string]any{"params": map[string]any{"restoreFrom": map[string]any{"type": "string"}}},
	}}
	f.client = newFakeClient(t, toUnstructured(t, loc), toUnstructured(t, secret), bp)
	return f
}

func TestRestorePointsListsNewestFirst(t *testing.T) {
	f := newLocationFixture(t)

	got := runCmd(t, f.client, "restorepoints", "--location", "offsite")
	if got.Code != ExitOK {
		t.Fatalf("restorepoints: %+v", got)
	}
	lines := strings.Split(strings.TrimSpace(got.Out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], f.newer) || !strings.HasPrefix(lines[2], f.older) {
		t.Errorf("restorepoints printed\n%s\nwant a header, then %s, then %s", got.Out, f.newer, f.older)
	}
	if fields := strings.Fields(lines[1]); len(fields) != 8 || fields[5] != "shop" || fields[6] != "Deployment/basic-app" || fields[7] != "shop/data" {
		t.Errorf("the restore point line %q does not name the object", lines[1])
	}
	if strings.Contains(got.Out+got.ErrOut, locationPassword) {
		t.Error("the password was printed")
	}
}

func TestRestoreFromRestorePointCreatesActionSet(t *testing.T) {
	f := newLocationFixture(t)

	got := runCmd(t, f.client, "restore", "--location", "offsite", "--restore-point", f.older, "--to-namespace", "shop-copy")
	if got.Code != ExitOK {
		t.Fatalf("restore: %+v", got)
	}
	sets := listActionSets(t, f.client)
	if len(sets) != 1 {
		t.Fatalf("%d ActionSets, want 1", len(sets))
	}
	spec := sets[0].Spec
	if spec.Blueprint.Name != "csi-snapshot" || spec.Action != "restore" || spec.Object.Namespace != "shop-copy" ||
		spec.Location == nil || spec.Location.Name != "offsite" {
		t.Errorf("spec = %+v; want csi-snapshot's restore of basic-app into shop-copy from Location offsite", spec)
	}
	if spec.Artifacts == nil || !strings.Contains(string(spec.Artifacts.Inline["exports"].Raw), f.olderSnapshot) {
		t.Errorf("artifacts = %+v, want the restore point's exports inline", spec.Artifacts)
	}
	if from := string(spec.Params[restoreFromParam].Raw); from != `"export"` {
		t.Errorf("param restoreFrom = %s, want \"export\": the data is on the Location", from)
	}

	missing := runCmd(t, f.client, "restore", "--location", "offsite", "--restore-point", "0123456789abcdef")
	if missing.Code != ExitFailed || !strings.Contains(missing.ErrOut, "restore point not found") {
		t.Errorf("unknown restore point: %+v, want exit %d saying it is not found", missing, ExitFailed)
	}
}

func TestRetentionKeepsNewest(t *testing.T) {
	f := newLocationFixture(t)

	dry := runCmd(t, f.client, "retention", "--location", "offsite", "--keep", "1", "--dry-run")
	if dry.Code != ExitOK || !strings.Contains(dry.Out, "would delete restore point "+f.older) {
		t.Fatalf("dry run: %+v", dry)
	}

	got := runCmd(t, f.client, "retention", "--location", "offsite", "--keep", "1")
	if got.Code != ExitOK || !strings.Contains(got.Out, "deleted restore point "+f.older) || !strings.Contains(got.Out, "maintenance done") {
		t.Fatalf("retention: %+v", got)
	}

	list := runCmd(t, f.client, "restorepoints", "--location", "offsite")
	if strings.Contains(list.Out, f.older) || !strings.Contains(list.Out, f.newer) {
		t.Errorf("after retention --keep 1:\n%s\nwant only %s", list.Out, f.newer)
	}

	if bad := runCmd(t, f.client, "retention", "--location", "offsite", "--keep", "0"); bad.Code != ExitUsage {
		t.Errorf("--keep 0: %+v, want a usage error", bad)
	}
}
