package repository

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const testPassword = "correct horse battery staple"

func testSource(pvc string) snapshot.SourceInfo {
	return snapshot.SourceInfo{Host: "cluster-a", UserName: "shop", Path: pvc}
}

func fsLocation(t testing.TB) v1alpha1.LocationSpec {
	t.Helper()

	return v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: t.TempDir(), Prefix: "team-a"}
}

// testStorage returns storage for loc, closed when the test ends.
func testStorage(t testing.TB, loc v1alpha1.LocationSpec, c Credentials, isCreate bool) blob.Storage {
	t.Helper()

	st, err := NewStorage(t.Context(), loc, c, isCreate)
	if err != nil {
		t.Fatalf("NewStorage: %v", err)
	}

	t.Cleanup(func() { st.Close(context.Background()) })

	return st
}

// openRepo opens st with a fresh config dir (so nothing is cached), closed
// when the test ends.
func openRepo(t testing.TB, st blob.Storage, password string) repo.Repository {
	t.Helper()

	rep, err := Open(t.Context(), st, password, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	t.Cleanup(func() { rep.Close(context.Background()) })

	return rep
}

// newFSRepo creates a filesystem repository.
func newFSRepo(t testing.TB) (blob.Storage, repo.Repository) {
	t.Helper()

	st := testStorage(t, fsLocation(t), Credentials{Password: testPassword}, true)

	return st, openRepo(t, st, testPassword)
}

// blobDigests returns the SHA-256 of every blob in st.
func blobDigests(t testing.TB, st blob.Storage) map[blob.ID]string {
	t.Helper()

	out := map[blob.ID]string{}

	err := st.ListBlobs(t.Context(), "", func(m blob.Metadata) error {
		var buf outputBuffer
		if err := st.GetBlob(t.Context(), m.BlobID, 0, -1, &buf); err != nil {
			return err
		}

		sum := sha256.Sum256(buf.Bytes())
		out[m.BlobID] = hex.EncodeToString(sum[:])

		return nil
	})
	if err != nil {
		t.Fatalf("list blobs: %v", err)
	}

	return out
}

// entry is what a restore must reproduce of one file, directory or symlink.
type entry struct {
	Mode    fs.FileMode
	Size    int64
	SHA256  string
	ModTime time.Time
	Link    string
}

// treeManifest describes every entry under dir by relative path.
func treeManifest(t testing.TB, dir string) map[string]entry {
	t.Helper()

	out := map[string]entry{}

	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(dir, path)
		if rel == "." {
			return nil
		}

		info, err := os.Lstat(path)
		if err != nil {
			return err
		}

		e := entry{Mode: info.Mode()}

		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}

			sum := sha256.Sum256(b)
			e.Size, e.SHA256, e.ModTime = info.Size(), hex.EncodeToString(sum[:]), info.ModTime().UTC()
		case info.Mode()&fs.ModeSymlink != 0:
			e.Link, err = os.Readlink(path)
		}

		out[rel] = e

		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}

	return out
}

// treeStats are what a generated tree holds.
type treeStats struct {
	bytes, files, dupBytes int64
}

// makeTree writes a deterministic tree: four large random files and a
// duplicate of one of them, 1000 small files in 20 directories with mixed
// modes, an empty file and a symlink.
func makeTree(t testing.TB, dir string, seed uint64) treeStats {
	t.Helper()

	r := newRand(seed)

	var s treeStats

	var first []byte

	for i := range 4 {
		b := randomBytes(r, 2<<20+r.IntN(4<<20))
		writeFile(t, filepath.Join(dir, "big", "blob-"+strconv.Itoa(i)+".bin"), b, 0o644)
		s.bytes, s.files = s.bytes+int64(len(b)), s.files+1

		if i == 0 {
			first = b
		}
	}

	writeFile(t, filepath.Join(dir, "big", "copy-of-blob-0.bin"), first, 0o600)
	s.bytes, s.files, s.dupBytes = s.bytes+int64(len(first)), s.files+1, int64(len(first))

	modes := []fs.FileMode{0o644, 0o600, 0o755, 0o640}

	for i := range 1000 {
		b := randomBytes(r, 512+r.IntN(7<<10))
		writeFile(t, filepath.Join(dir, "small", "d"+strconv.Itoa(i%20), "f"+strconv.Itoa(i)+".dat"), b, modes[i%len(modes)])
		s.bytes, s.files = s.bytes+int64(len(b)), s.files+1
	}

	writeFile(t, filepath.Join(dir, "empty"), nil, 0o644)
	s.files++

	if err := os.Symlink("big/blob-1.bin", filepath.Join(dir, "link-to-blob-1")); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(filepath.Join(dir, "small", "d3"), 0o750); err != nil {
		t.Fatal(err)
	}

	return s
}

// changeTree changes about 1% of a makeTree tree: it rewrites 10 small
// files, adds one of 200 KiB and removes one, and touches 5 large files
// without changing their content (which makes kopia read them again but
// store nothing new). It returns the bytes of new content.
func changeTree(t testing.TB, dir string, seed uint64) int64 {
	t.Helper()

	r := rand.New(rand.NewPCG(seed, ^seed))

	var changed int64

	for i := range 10 {
		b := randomBytes(r, 4<<10)
		writeFile(t, filepath.Join(dir, "small", "d"+strconv.Itoa(i), "f"+strconv.Itoa(i)+".dat"), b, 0o644)
		changed += int64(len(b))
	}

	b := randomBytes(r, 200<<10)
	writeFile(t, filepath.Join(dir, "small", "d0", "new.dat"), b, 0o644)
	changed += int64(len(b))

	if err := os.Remove(filepath.Join(dir, "small", "d5", "f105.dat")); err != nil {
		t.Fatal(err)
	}

	later := time.Now().Add(time.Hour)
	for _, name := range []string{"blob-0.bin", "blob-1.bin", "blob-2.bin", "blob-3.bin", "copy-of-blob-0.bin"} {
		if err := os.Chtimes(filepath.Join(dir, "big", name), later, later); err != nil {
			t.Fatal(err)
		}
	}

	return changed
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}

	return b
}

func writeFile(t testing.TB, path string, b []byte, mode fs.FileMode) {
	t.Helper()

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
}

// blobBytes is a blob.Bytes over a byte slice.
type blobBytes []byte

func (b blobBytes) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

func (b blobBytes) Length() int { return len(b) }

func (b blobBytes) Reader() io.ReadSeekCloser { return nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
