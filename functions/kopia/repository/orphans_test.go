package repository

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// A retried export leaves the first attempt's snapshot, which no restore
// point lists: old enough, it is an orphan; the listed one never is.
func TestOrphansAreUnlistedAndOldEnough(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("data"), 0o644)
	first, err := Upload(ctx, rep, src, testSource("data"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "f"), []byte("data, retried"), 0o644)
	retried, err := Upload(ctx, rep, src, testSource("data"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PutRestorePoint(ctx, rep, RestorePoint{Blueprint: "bp", Action: "backup",
		Object:    v1alpha1.ObjectReference{Kind: "Deployment", Namespace: "app", Name: "web"},
		Snapshots: map[string]string{"app/data": retried.SnapshotID}}); err != nil {
		t.Fatal(err)
	}
	got, err := Orphans(ctx, rep, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{first.SnapshotID}, got); diff != "" {
		t.Errorf("orphans (-want +got):\n%s", diff)
	}
	// Both started moments ago: within the grace, an export may still be
	// about to record its restore point.
	if young, err := Orphans(ctx, rep, time.Hour); err != nil || len(young) != 0 {
		t.Errorf("orphans within an hour's grace = %v (%v), want none", young, err)
	}
}
