package repository

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// uploadSmall snapshots a one-file tree as pvc and returns the snapshot ID.
func uploadSmall(t *testing.T, rep repo.Repository, pvc string) string {
	t.Helper()

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "data"), []byte("contents of "+pvc), 0o644)

	res, err := Upload(t.Context(), rep, src, testSource(pvc), 1, nil)
	if err != nil {
		t.Fatal(err)
	}

	return res.SnapshotID
}

func TestRestorePointsRoundTrip(t *testing.T) {
	ctx := t.Context()
	st, rep := newFSRepo(t)
	db0, db1, logs := uploadSmall(t, rep, "data-db-0"), uploadSmall(t, rep, "data-db-1"), uploadSmall(t, rep, "logs")
	day := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	object := v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}

	older := RestorePoint{
		Time: day, Blueprint: "postgres", Action: "export", Object: object,
		Artifacts: map[string]any{"dump": map[string]any{"path": "/dump.sql", "size": 42.0}, "replicas": 3.0},
		Snapshots: map[string]string{"data-db-0": db0, "logs": logs},
	}
	newer := RestorePoint{
		Time: day.Add(time.Hour), Blueprint: "postgres", Action: "export", Object: object,
		Snapshots: map[string]string{"data-db-1": db1, "logs": logs},
	}

	olderID := putRestorePoint(t, rep, older)
	newerID := putRestorePoint(t, rep, newer)

	if again := putRestorePoint(t, rep, older); again != olderID {
		t.Errorf("putting an equal restore point again gave ID %s, want the stored %s", again, olderID)
	}

	older.ID, older.Time = olderID, day.UTC()
	newer.ID, newer.Time = newerID, newer.Time.UTC()

	// Another cluster, with its own config dir, lists them newest first.
	other := openRepo(t, st, testPassword)
	checkRestorePoints(t, other, []RestorePoint{newer, older})

	if err := DeleteRestorePoint(ctx, rep, olderID); err != nil {
		t.Fatalf("DeleteRestorePoint: %v", err)
	}

	checkRestorePoints(t, rep, []RestorePoint{newer})

	// The deleted point's own snapshot goes; the one it shared stays.
	checkSnapshots(t, rep, map[string]bool{db0: false, db1: true, logs: true})

	if err := DeleteRestorePoint(ctx, rep, olderID); !errors.Is(err, ErrRestorePointNotFound) {
		t.Errorf("deleting twice: %v, want ErrRestorePointNotFound", err)
	}
}

func TestDeleteRestorePointRefusesOtherManifests(t *testing.T) {
	_, rep := newFSRepo(t)
	id := uploadSmall(t, rep, "pvc")

	if err := DeleteRestorePoint(t.Context(), rep, id); !errors.Is(err, ErrRestorePointNotFound) {
		t.Errorf("DeleteRestorePoint(snapshot ID): %v, want ErrRestorePointNotFound", err)
	}

	checkSnapshots(t, rep, map[string]bool{id: true})
}

func TestListRestorePointsRefusesNewerFormat(t *testing.T) {
	_, rep := newFSRepo(t)
	labels := map[string]string{manifest.TypeLabelKey: RestorePointType}

	err := repo.WriteSession(t.Context(), rep, repo.WriteSessionOptions{}, func(ctx context.Context, w repo.RepositoryWriter) error {
		_, err := w.PutManifest(ctx, labels, storedRestorePoint{Version: restorePointVersion + 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := ListRestorePoints(t.Context(), rep); err == nil {
		t.Error("ListRestorePoints read a restore point of a newer format")
	}
}

func putRestorePoint(t *testing.T, rep repo.Repository, rp RestorePoint) string {
	t.Helper()

	id, err := PutRestorePoint(t.Context(), rep, rp)
	if err != nil {
		t.Fatalf("PutRestorePoint: %v", err)
	}

	return id
}

func checkRestorePoints(t *testing.T, rep repo.Repository, want []RestorePoint) {
	t.Helper()

	got, err := ListRestorePoints(t.Context(), rep)
	if err != nil {
		t.Fatalf("ListRestorePoints: %v", err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListRestorePoints (-want +got):\n%s", diff)
	}
}

// checkSnapshots checks which snapshot IDs exist.
func checkSnapshots(t *testing.T, rep repo.Repository, want map[string]bool) {
	t.Helper()

	for id, exists := range want {
		_, err := snapshot.LoadSnapshot(t.Context(), rep, manifest.ID(id))
		if got := err == nil; got != exists {
			t.Errorf("snapshot %s exists = %v (%v), want %v", id, got, err, exists)
		}
	}
}

// TestRestorePointOfARunIsReplaced: a run that exports again (resumed
// after a crash) stores one restore point, the last; another run's stays.
func TestRestorePointOfARunIsReplaced(t *testing.T) {
	_, rep := newFSRepo(t)
	first, again := uploadSmall(t, rep, "data"), uploadSmall(t, rep, "data")
	day := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	object := v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "app"}
	point := func(run, snap string, at time.Time) RestorePoint {
		return RestorePoint{Time: at, Blueprint: "csi-snapshot", Action: "backup", Object: object,
			Snapshots: map[string]string{"shop/data": snap}, Run: run}
	}

	otherID := putRestorePoint(t, rep, point("uid-2", first, day))
	putRestorePoint(t, rep, point("uid-1", first, day))
	lastID := putRestorePoint(t, rep, point("uid-1", again, day.Add(time.Minute)))

	got, err := ListRestorePoints(t.Context(), rep)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, rp := range got {
		ids[rp.ID] = rp.Run + " " + rp.Snapshots["shop/data"]
	}
	want := map[string]string{lastID: "uid-1 " + again, otherID: "uid-2 " + first}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("restore points by ID (-want +got):\n%s", diff)
	}
}
