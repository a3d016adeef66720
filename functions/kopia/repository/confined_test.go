package repository

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/fs/virtualfs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/policy"
	"github.com/kopia/kopia/snapshot/upload"
)

// uploadTree stores root as a snapshot, as anyone holding the repository
// password could, and returns its ID.
func uploadTree(t *testing.T, rep repo.Repository, root fs.Directory) string {
	t.Helper()
	var id string
	err := repo.WriteSession(t.Context(), rep, repo.WriteSessionOptions{Purpose: "test"}, func(ctx context.Context, w repo.RepositoryWriter) error {
		man, err := upload.NewUploader(w).Upload(ctx, root, policy.BuildTree(nil, policy.DefaultPolicy), testSource("forged"))
		if err != nil {
			return err
		}
		mid, err := snapshot.SaveSnapshot(ctx, w, man)
		id = string(mid)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRestoreRefusesNamesThatClimbOut builds a snapshot whose entry is
// named "../escaped": kopia would write it beside the target.
func TestRestoreRefusesNamesThatClimbOut(t *testing.T) {
	_, rep := newFSRepo(t)
	root := virtualfs.NewStaticDirectory("root", []fs.Entry{
		virtualfs.StreamingFileFromReader("../escaped", io.NopCloser(strings.NewReader("owned"))),
	})
	id := uploadTree(t, rep, root)
	parent := t.TempDir()
	dst := filepath.Join(parent, "volume")
	_, err := Restore(t.Context(), rep, id, dst, nil)
	if err == nil || !strings.Contains(err.Error(), `refused entry "../escaped": its name leads outside the restored volume`) {
		t.Fatalf("Restore = %v, want the entry refused", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "escaped")); !os.IsNotExist(err) {
		t.Errorf("a file was written outside the target: %v", err)
	}
}

// TestRestoreRefusesSymlinksOutOfTheVolume snapshots a real directory
// holding a symlink out of it; one that stays inside restores.
func TestRestoreRefusesSymlinksOutOfTheVolume(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	for _, tc := range []struct{ link, target, refused string }{
		{"etc", "/etc", `refused symlink "etc" -> "/etc": it points outside the restored volume`},
		{"sub/up", "../../outside", `refused symlink "sub/up" -> "../../outside": it points outside the restored volume`},
		{"sub/inner", "../file", ""},
	} {
		src := t.TempDir()
		writeFile(t, filepath.Join(src, "file"), []byte("data"), 0o644)
		if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(tc.target, filepath.Join(src, tc.link)); err != nil {
			t.Fatal(err)
		}
		res, err := Upload(ctx, rep, src, testSource(strings.ReplaceAll(tc.link, "/", "-")), 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		_, err = Restore(ctx, rep, res.SnapshotID, dst, nil)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s -> %s: %v, want it restored", tc.link, tc.target, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s -> %s: Restore = %v, want %q", tc.link, tc.target, err, tc.refused)
		case tc.refused == "":
			if got, err := os.Readlink(filepath.Join(dst, tc.link)); err != nil || got != tc.target {
				t.Errorf("%s restored as %q (%v), want -> %s", tc.link, got, err, tc.target)
			}
		}
	}
}
