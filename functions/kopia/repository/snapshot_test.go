package repository

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/snapshot"
)

// recorder keeps every progress report.
type recorder struct {
	mu  sync.Mutex
	all []Progress
}

func (r *recorder) record(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()

	r.all = append(r.all, p)
}

func (r *recorder) last(t *testing.T) Progress {
	t.Helper()

	r.mu.Lock()
	defer r.mu.Unlock()

	if len(r.all) == 0 {
		t.Fatal("progress was never called")
	}

	return r.all[len(r.all)-1]
}

func TestUploadIncrementalRestore(t *testing.T) {
	ctx := t.Context()
	_, rep := newFSRepo(t)
	src := t.TempDir()
	stats := makeTree(t, src, 1)
	before := treeManifest(t, src)

	var p1 recorder

	r1, err := Upload(ctx, rep, src, testSource("data-db-0"), 2, p1.record)
	if err != nil {
		t.Fatalf("first Upload: %v", err)
	}

	t.Logf("first upload: %d files, %d bytes total, %d bytes new, %v", r1.Files, r1.BytesTotal, r1.BytesNew, r1.Duration)

	if r1.ParentSnapshotID != "" || r1.Files != stats.files || r1.BytesTotal != stats.bytes {
		t.Errorf("first Upload = %+v, want no parent, %d files, %d bytes", r1, stats.files, stats.bytes)
	}
	// The duplicate file is stored once.
	if max := stats.bytes - stats.dupBytes/2; r1.BytesNew > max || r1.BytesNew < stats.bytes-stats.dupBytes {
		t.Errorf("first Upload BytesNew = %d, want within [%d, %d]", r1.BytesNew, stats.bytes-stats.dupBytes, max)
	}

	checkFinalProgress(t, p1.last(t), r1)

	newBytes := changeTree(t, src, 2)
	after := treeManifest(t, src)

	var p2 recorder

	r2, err := Upload(ctx, rep, src, testSource("data-db-0"), 2, p2.record)
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}

	t.Logf("second upload after changing %d bytes: %d bytes total, %d bytes new (%.2f%%), %v",
		newBytes, r2.BytesTotal, r2.BytesNew, 100*float64(r2.BytesNew)/float64(r2.BytesTotal), r2.Duration)

	if r2.ParentSnapshotID != r1.SnapshotID {
		t.Errorf("second Upload parent = %q, want first snapshot %q", r2.ParentSnapshotID, r1.SnapshotID)
	}

	if r2.BytesNew >= r2.BytesTotal/10 || r2.BytesNew < newBytes {
		t.Errorf("second Upload BytesNew = %d of %d; want at least the %d changed bytes and under 10%%", r2.BytesNew, r2.BytesTotal, newBytes)
	}

	checkFinalProgress(t, p2.last(t), r2)

	// Each snapshot restores to the tree it was taken of.
	for _, tc := range []struct {
		name string
		id   string
		want map[string]entry
	}{
		{"first", r1.SnapshotID, before},
		{"second", r2.SnapshotID, after},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "restored")

			var p recorder

			res, err := Restore(ctx, rep, tc.id, dst, p.record)
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}

			if diff := cmp.Diff(tc.want, treeManifest(t, dst)); diff != "" {
				t.Errorf("restored tree differs (-want +got):\n%s", diff)
			}

			if got := p.last(t); got.BytesUploaded != res.BytesNew || got.FilesHashed != res.Files || got.BytesEstimated != res.BytesTotal {
				t.Errorf("final restore progress %+v does not match result %+v", got, res)
			}

			if err := Verify(ctx, rep, tc.id, 100); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// checkFinalProgress checks that the last upload report accounts for every
// file, and makeTree's one symlink.
func checkFinalProgress(t *testing.T, got Progress, r Result) {
	t.Helper()

	const link = int64(len("big/blob-1.bin"))

	if got.BytesHashed != r.BytesTotal+link || got.FilesHashed != r.Files+1 || got.BytesUploaded != r.BytesNew {
		t.Errorf("final progress %+v does not match result %+v", got, r)
	}
}

func TestUploadFailsOnUnreadableSource(t *testing.T) {
	_, rep := newFSRepo(t)

	_, err := Upload(t.Context(), rep, filepath.Join(t.TempDir(), "missing"), testSource("pvc"), 1, nil)
	if err == nil {
		t.Fatal("Upload of a missing directory succeeded")
	}

	list, err := snapshot.ListSnapshots(t.Context(), rep, testSource("pvc"))
	if err != nil || len(list) != 0 {
		t.Errorf("after a failed upload: %d snapshots, %v; want none", len(list), err)
	}
}

func TestUploadStopsWhenCanceled(t *testing.T) {
	_, rep := newFSRepo(t)
	src := t.TempDir()
	makeTree(t, src, 4)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The first progress report comes as soon as hashing starts.
	_, err := Upload(ctx, rep, src, testSource("pvc"), 1, func(Progress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Upload: %v, want context.Canceled", err)
	}

	list, err := snapshot.ListSnapshots(t.Context(), rep, testSource("pvc"))
	if err != nil {
		t.Fatal(err)
	}

	for _, m := range list {
		if m.IncompleteReason == "" {
			t.Errorf("a canceled upload saved complete snapshot %s", m.ID)
		}
	}
}

func TestUploadRejectsIncompleteSource(t *testing.T) {
	_, rep := newFSRepo(t)

	_, err := Upload(t.Context(), rep, t.TempDir(), snapshot.SourceInfo{Host: "h", Path: "p"}, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "source needs host, user and path") {
		t.Fatalf("Upload with no user: %v, want an error about the source", err)
	}
}

func TestVerifyDetectsDamage(t *testing.T) {
	for _, tc := range []struct {
		name         string
		filesPercent float64
		damage       func(t *testing.T, st blob.Storage, id blob.ID)
	}{
		{"pack deleted, no file read", 0, func(t *testing.T, st blob.Storage, id blob.ID) {
			if err := st.DeleteBlob(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}},
		{"pack corrupted, every file read", 100, func(t *testing.T, st blob.Storage, id blob.ID) {
			var buf outputBuffer
			if err := st.GetBlob(t.Context(), id, 0, -1, &buf); err != nil {
				t.Fatal(err)
			}

			b := buf.Bytes()
			b[len(b)/2] ^= 0xff

			if err := st.PutBlob(t.Context(), id, blobBytes(b), blob.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, rep := newFSRepo(t)
			src := t.TempDir()
			writeFile(t, filepath.Join(src, "a.bin"), randomBytes(newRand(3), 3<<20), 0o644)

			res, err := Upload(t.Context(), rep, src, testSource("pvc"), 1, nil)
			if err != nil {
				t.Fatal(err)
			}

			if err := Verify(t.Context(), openRepo(t, st, testPassword), res.SnapshotID, tc.filesPercent); err != nil {
				t.Fatalf("Verify before damage: %v", err)
			}

			tc.damage(t, st, onePackBlob(t, st))

			err = Verify(t.Context(), openRepo(t, st, testPassword), res.SnapshotID, tc.filesPercent)
			if err == nil {
				t.Fatal("Verify after damage succeeded")
			}

			t.Logf("Verify: %v", err)
		})
	}
}

func TestVerifyRejectsBadPercent(t *testing.T) {
	_, rep := newFSRepo(t)

	if err := Verify(t.Context(), rep, "any", 101); err == nil {
		t.Error("Verify with filesPercent 101 succeeded")
	}
}

func TestRestoreUnknownSnapshot(t *testing.T) {
	_, rep := newFSRepo(t)

	_, err := Restore(t.Context(), rep, "0123456789abcdef0123456789abcdef", t.TempDir(), nil)
	if !errors.Is(err, snapshot.ErrSnapshotNotFound) {
		t.Errorf("Restore of an unknown snapshot: %v, want ErrSnapshotNotFound", err)
	}
}

// onePackBlob returns a data pack blob ("p" prefix) of st.
func onePackBlob(t *testing.T, st blob.Storage) blob.ID {
	t.Helper()

	packs, err := blob.ListAllBlobs(t.Context(), st, "p")
	if err != nil || len(packs) == 0 {
		t.Fatalf("list pack blobs: %d, %v", len(packs), err)
	}

	return packs[0].BlobID
}
