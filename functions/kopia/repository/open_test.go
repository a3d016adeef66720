package repository

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/format"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"
)

func TestOpenCreatesThenConnects(t *testing.T) {
	loc := fsLocation(t)
	st := testStorage(t, loc, Credentials{Password: testPassword}, true)

	if err := ensureEmpty(t.Context(), st); err != nil {
		t.Fatalf("new storage not empty: %v", err)
	}

	first := openRepo(t, st, testPassword)

	if _, err := os.Stat(filepath.Join(loc.Path, loc.Prefix, string(format.KopiaRepositoryBlobID)+".f")); err != nil {
		t.Fatalf("Open did not create the repository in path/prefix: %v", err)
	}

	formatBefore := blobDigests(t, st)[format.KopiaRepositoryBlobID]

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a"), []byte("hello"), 0o644)

	res, err := Upload(t.Context(), first, src, testSource("pvc"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Reopen, from a new config dir as another pod would, and with the same
	// one as a retried step would.
	for _, configDir := range []string{t.TempDir(), t.TempDir()} {
		for range 2 {
			rep, err := Open(t.Context(), st, testPassword, configDir)
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}

			if _, err := snapshot.LoadSnapshot(t.Context(), rep, manifest.ID(res.SnapshotID)); err != nil {
				t.Errorf("reopened repository lost snapshot: %v", err)
			}

			rep.Close(t.Context())

			if left := configFiles(t, configDir); len(left) != 0 {
				t.Errorf("config dir still holds %v after Open", left)
			}
		}
	}

	if got := blobDigests(t, st)[format.KopiaRepositoryBlobID]; got != formatBefore {
		t.Error("reopening rewrote kopia.repository")
	}
}

func TestOpenWrongPassword(t *testing.T) {
	st, rep := newFSRepo(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a"), []byte("hello"), 0o644)

	res, err := Upload(t.Context(), rep, src, testSource("pvc"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}

	rep.Close(t.Context())

	before := blobDigests(t, st)
	configDir := t.TempDir()
	wrong := "not-the-" + testPassword

	_, err = Open(t.Context(), st, wrong, configDir)
	if !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("Open with a wrong password: %v, want ErrWrongPassword", err)
	}

	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error shows the password: %v", err)
	}

	t.Logf("wrong password: %v", err)

	if diff := cmp.Diff(before, blobDigests(t, st)); diff != "" {
		t.Errorf("a wrong password changed the storage (-before +after):\n%s", diff)
	}

	if left := configFiles(t, configDir); len(left) != 0 {
		t.Errorf("config dir still holds %v", left)
	}

	again := openRepo(t, st, testPassword)

	list, err := snapshot.ListSnapshots(t.Context(), again, testSource("pvc"))
	if err != nil || len(list) != 1 || string(list[0].ID) != res.SnapshotID {
		t.Errorf("after a wrong password, the right one lists %d snapshots (%v), want %s", len(list), err, res.SnapshotID)
	}
}

func TestOpenRefusesForeignData(t *testing.T) {
	st := testStorage(t, fsLocation(t), Credentials{}, true)

	if err := st.PutBlob(t.Context(), "someone-elses-file", blobBytes("data"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	before := blobDigests(t, st)

	_, err := Open(t.Context(), st, testPassword, t.TempDir())
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("Open over foreign data: %v, want ErrNotRepository", err)
	}

	if diff := cmp.Diff(before, blobDigests(t, st)); diff != "" {
		t.Errorf("Open changed the storage (-before +after):\n%s", diff)
	}
}

func TestOpenEmptyPassword(t *testing.T) {
	st := testStorage(t, fsLocation(t), Credentials{}, true)

	if _, err := Open(t.Context(), st, "", t.TempDir()); err == nil {
		t.Fatal("Open with an empty password succeeded")
	}

	if got := blobDigests(t, st); len(got) != 0 {
		t.Errorf("Open with an empty password wrote %d blobs", len(got))
	}
}

// Listing from another cluster must work with read-only credentials, so it
// must not write.
func TestListingDoesNotWrite(t *testing.T) {
	st, rep := newFSRepo(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a"), []byte("hello"), 0o644)

	res, err := Upload(t.Context(), rep, src, testSource("pvc"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := PutRestorePoint(t.Context(), rep, RestorePoint{Action: "export", Snapshots: map[string]string{"pvc": res.SnapshotID}}); err != nil {
		t.Fatal(err)
	}

	rep.Close(t.Context())

	before := blobDigests(t, st)

	reader, err := Open(t.Context(), st, testPassword, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	if rps, err := ListRestorePoints(t.Context(), reader); err != nil || len(rps) != 1 {
		t.Errorf("ListRestorePoints = %d, %v; want 1", len(rps), err)
	}

	if err := reader.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(before, blobDigests(t, st)); diff != "" {
		t.Errorf("listing changed the storage (-before +after):\n%s", diff)
	}
}

func configFiles(t *testing.T, dir string) []string {
	t.Helper()

	m, err := filepath.Glob(filepath.Join(dir, "*.config"))
	if err != nil {
		t.Fatal(err)
	}

	return m
}

func TestConnectNeverCreates(t *testing.T) {
	st := testStorage(t, fsLocation(t), Credentials{Password: testPassword}, true)

	_, err := Connect(t.Context(), st, testPassword, t.TempDir())
	if !errors.Is(err, ErrNoRepository) {
		t.Fatalf("Connect to empty storage: %v, want ErrNoRepository", err)
	}

	if err := ensureEmpty(t.Context(), st); err != nil {
		t.Errorf("Connect wrote to empty storage: %v", err)
	}

	openRepo(t, st, testPassword)

	rep, err := Connect(t.Context(), st, testPassword, t.TempDir())
	if err != nil {
		t.Fatalf("Connect to a repository: %v", err)
	}

	_ = rep.Close(t.Context())
}
