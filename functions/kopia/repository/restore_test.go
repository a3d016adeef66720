package repository

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreLargeFile restores a file large enough to be uploaded in
// parallel parts, byte for byte and with its mode.
func TestRestoreLargeFile(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	src, dst := t.TempDir(), t.TempDir()
	want := randomBytes(newRand(4), ParallelUploadAboveSize+4<<20+17)
	writeFile(t, filepath.Join(src, "disk.img"), want, 0o640)

	res, err := Upload(ctx, rep, src, testSource("large"), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, rep, res.SnapshotID, dst, nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "disk.img"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored %d bytes (%v), want the original %d", len(got), err, len(want))
	}
	st, err := os.Stat(filepath.Join(dst, "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("restored mode %v, want 0640: the attributes are restored too", st.Mode().Perm())
	}
}
