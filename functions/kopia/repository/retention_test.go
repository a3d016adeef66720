package repository

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/maintenance"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestForgetSnapshotsDeletesTheirRestorePoints(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	a, b, shared := uploadSmall(t, rep, "a"), uploadSmall(t, rep, "b"), uploadSmall(t, rep, "shared")
	obj := v1alpha1.ObjectReference{Kind: "Deployment", Namespace: "app", Name: "web"}
	first := putRestorePoint(t, rep, RestorePoint{Blueprint: "bp", Action: "backup", Object: obj, Snapshots: map[string]string{"a": a, "s": shared}})
	second := putRestorePoint(t, rep, RestorePoint{Blueprint: "bp", Action: "backup", Object: obj, Snapshots: map[string]string{"b": b, "s": shared}})

	got, err := ForgetSnapshots(ctx, rep, []string{a})
	if err != nil {
		t.Fatal(err)
	}

	if want := (Forgotten{RestorePoints: 1, Snapshots: 1}); got != want {
		t.Errorf("ForgetSnapshots = %+v, want %+v", got, want)
	}

	left, err := ListRestorePoints(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}

	if len(left) != 1 || left[0].ID != second {
		t.Errorf("restore points left = %v, want only %s (not %s)", left, second, first)
	}

	if got, err := existingSnapshots(ctx, rep, []string{a, b, shared}); err != nil || len(got) != 2 {
		t.Errorf("snapshots left %v (%v), want b and shared: the remaining restore point lists them", got, err)
	}

	again, err := ForgetSnapshots(ctx, rep, []string{a})
	if err != nil || again != (Forgotten{}) {
		t.Errorf("forgetting again = %+v, %v; want nothing done and no error", again, err)
	}
}

func TestExpiredKeepsNewestPerObject(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	rp := func(id, name string, hour int) RestorePoint {
		return RestorePoint{
			ID: id, Time: day.Add(time.Duration(hour) * time.Hour), Blueprint: "bp", Action: "backup",
			Object: v1alpha1.ObjectReference{Kind: "Deployment", Namespace: "app", Name: name},
		}
	}
	newestFirst := []RestorePoint{rp("w3", "web", 3), rp("d2", "db", 2), rp("w2", "web", 2), rp("w1", "web", 1), rp("d1", "db", 1)}

	var ids []string
	for _, e := range Expired(newestFirst, 2) {
		ids = append(ids, e.ID)
	}

	if diff := cmp.Diff([]string{"w1"}, ids); diff != "" {
		t.Errorf("Expired(keep 2) (-want +got):\n%s", diff)
	}

	if n := len(Expired(newestFirst, 0)); n != len(newestFirst) {
		t.Errorf("Expired(keep 0) = %d restore points, want all %d", n, len(newestFirst))
	}
}

// Apps alike in name but of another namespace or another source (cluster)
// are other objects: each keeps its own newest.
func TestExpiredSeparatesNamespacesAndSources(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	rp := func(id, source, ns string, hour int) RestorePoint {
		return RestorePoint{
			ID: id, Time: day.Add(time.Duration(hour) * time.Hour), Blueprint: "bp", Action: "backup", Source: source,
			Object: v1alpha1.ObjectReference{Kind: "Deployment", Namespace: ns, Name: "web"},
		}
	}
	newestFirst := []RestorePoint{rp("a2", "east", "a", 4), rp("b1", "east", "b", 3), rp("w1", "west", "a", 2), rp("a1", "east", "a", 1)}
	var ids []string
	for _, e := range Expired(newestFirst, 1) {
		ids = append(ids, e.ID)
	}
	if diff := cmp.Diff([]string{"a1"}, ids); diff != "" {
		t.Errorf("Expired(keep 1) (-want +got):\n%s", diff)
	}
}

// TestMaintainCollectsForgottenData shows that maintenance garbage
// collects what a forgotten snapshot held. Without safety margins the
// contents are marked deleted at once; kopia frees their packs in later
// runs, once its own time margins pass.
func TestMaintainCollectsForgottenData(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "big"), randomBytes(newRand(9), 1<<20), 0o644)

	res, err := Upload(ctx, rep, src, testSource("big"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}

	man, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(res.SnapshotID))
	if err != nil {
		t.Fatal(err)
	}

	root, _, ok := man.RootObjectID().ContentID()
	if !ok {
		t.Fatalf("root object %v is not stored in one content", man.RootObjectID())
	}

	if _, err := ForgetSnapshots(ctx, rep, []string{res.SnapshotID}); err != nil {
		t.Fatal(err)
	}

	if err := Maintain(ctx, rep, true); err != nil {
		t.Fatal(err)
	}

	dr := rep.(repo.DirectRepository)
	if err := dr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	info, err := dr.ContentInfo(ctx, root)
	if err != nil {
		t.Fatal(err)
	}

	if !info.Deleted {
		t.Errorf("the forgotten snapshot's root directory %v is not marked deleted after maintenance", root)
	}

	sched, err := maintenance.GetSchedule(ctx, dr)
	if err != nil {
		t.Fatal(err)
	}

	if len(sched.Runs[maintenance.TaskSnapshotGarbageCollection]) == 0 {
		t.Errorf("the maintenance schedule records no snapshot GC run: %+v", sched.Runs)
	}

	if _, err := Upload(ctx, rep, src, testSource("big"), 1, nil); err != nil {
		t.Errorf("upload after maintenance: %v", err)
	}
}
