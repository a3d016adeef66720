package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// The tree's layout at its full size, 1 GiB; other sizes scale every part.
var (
	// randomMiB are the large files of random (incompressible, unique)
	// data: 696 MiB, from one file that Upload splits into parts down to
	// files below one 4 MiB chunk's worth of parts.
	randomMiB = []int64{256, 160, 96, 64, 48, 32, 16, 8, 8, 8}
	// copied are the indexes in randomMiB of the files also stored as
	// byte-identical copies: 160+32+8 = 200 MiB of duplicated data.
	copied = []int{1, 5, 7}
)

const (
	fullSize = 1 << 30
	// smallFiles small files of random data fill the rest (128 MiB at
	// 1 GiB), 100 to a directory.
	smallFiles = 10_000
	// changeFraction of the files and bytes change before the incremental
	// run.
	changeFraction = 100 // 1 in 100
)

// tree is a generated tree.
type tree struct {
	dir                            string
	files, bytes                   int64
	randomBytes, copyBytes, nSmall int64
	smallBytes                     int64
}

// describe says what the tree holds, in one line.
func (t tree) describe() string {
	return fmt.Sprintf("%s in %d files: %s random data in %d large files, %s of byte-identical copies of 3 of them, %d small files (%s)",
		mib(t.bytes), t.files, mib(t.randomBytes), len(randomMiB), mib(t.copyBytes), t.nSmall, mib(t.smallBytes))
}

// makeTree writes the benchmark tree of about size bytes into dir from seed.
func makeTree(dir string, size int64, seed uint64) (tree, error) {
	t := tree{dir: dir}
	c := rand.NewChaCha8(seedBytes(seed))
	r := rand.New(c)

	var sizes []int64
	for _, m := range randomMiB {
		sizes = append(sizes, max(4<<10, m<<20*size/fullSize))
	}

	for i, n := range sizes {
		if err := writeRandom(c, filepath.Join(dir, "big", fmt.Sprintf("random-%02d.bin", i)), n); err != nil {
			return t, err
		}

		t.files, t.randomBytes = t.files+1, t.randomBytes+n
	}

	for _, i := range copied {
		name := fmt.Sprintf("random-%02d.bin", i)
		if err := copyFile(filepath.Join(dir, "big", name), filepath.Join(dir, "copies", name)); err != nil {
			return t, err
		}

		t.files, t.copyBytes = t.files+1, t.copyBytes+sizes[i]
	}

	t.nSmall = max(100, smallFiles*size/fullSize)
	mean := max(1<<10, (size-t.randomBytes-t.copyBytes)/t.nSmall)

	for i := range t.nSmall {
		n := smallSize(r, mean)
		if err := writeRandom(c, smallPath(dir, i), n); err != nil {
			return t, err
		}

		t.files, t.smallBytes = t.files+1, t.smallBytes+n
	}

	t.bytes = t.randomBytes + t.copyBytes + t.smallBytes

	return t, nil
}

// change rewrites 1 in changeFraction small files with new content and
// adds one new file, so that 1% of the files and of the bytes are new. It
// returns the new bytes and files.
func change(t *tree, seed uint64) (newBytes, newFiles int64, err error) {
	c := rand.NewChaCha8(seedBytes(^seed))
	r := rand.New(c)
	mean := t.smallBytes / t.nSmall

	for i := int64(0); i < t.nSmall; i += changeFraction {
		path := smallPath(t.dir, i)

		old, err := os.Stat(path)
		if err != nil {
			return 0, 0, fmt.Errorf("change tree: %w", err)
		}

		n := smallSize(r, mean)
		if err := writeRandom(c, path, n); err != nil {
			return 0, 0, err
		}

		t.bytes, t.smallBytes = t.bytes+n-old.Size(), t.smallBytes+n-old.Size()
		newBytes, newFiles = newBytes+n, newFiles+1
	}

	added := max(4<<10, t.bytes/changeFraction-newBytes)
	if err := writeRandom(c, filepath.Join(t.dir, "new", "added.bin"), added); err != nil {
		return 0, 0, err
	}

	t.files, t.bytes = t.files+1, t.bytes+added

	return newBytes + added, newFiles + 1, nil
}

func smallPath(dir string, i int64) string {
	return filepath.Join(dir, "small", fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.dat", i))
}

// smallSize is uniform in [mean/8, mean*15/8], so sizes average mean.
func smallSize(r *rand.Rand, mean int64) int64 {
	return mean/8 + r.Int64N(mean*7/4+1)
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)

	return s
}

// writeRandom writes n random bytes from c to path, creating its directory.
func writeRandom(c *rand.ChaCha8, path string, n int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make tree: %w", err)
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("make tree: %w", err)
	}

	buf := make([]byte, min(n, 1<<20))
	for left := n; left > 0; left -= int64(len(buf)) {
		buf = buf[:min(left, int64(len(buf)))]
		_, _ = c.Read(buf) // ChaCha8.Read never fails

		if _, err := f.Write(buf); err != nil {
			f.Close()
			return fmt.Errorf("make tree: write %s: %w", path, err)
		}
	}

	if err := f.Close(); err != nil {
		return fmt.Errorf("make tree: close %s: %w", path, err)
	}

	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("make tree: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("make tree: %w", err)
	}

	if err := os.WriteFile(to, b, 0o644); err != nil {
		return fmt.Errorf("make tree: %w", err)
	}

	return nil
}

// rawRead reads every regular file under dir into a buffer and discards it,
// runtime.NumCPU() files at once: what reading the tree costs by itself.
// It returns the bytes read.
func rawRead(dir string) (int64, error) {
	paths, err := regularFiles(dir)
	if err != nil {
		return 0, fmt.Errorf("raw read: %w", err)
	}

	var (
		total atomic.Int64
		next  atomic.Int64
		wg    sync.WaitGroup
		errs  = make([]error, runtime.NumCPU())
	)

	for w := range errs {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for i := next.Add(1) - 1; i < int64(len(paths)) && errs[w] == nil; i = next.Add(1) - 1 {
				n, err := readFile(paths[i], buf)
				total.Add(n)
				errs[w] = err
			}
		})
	}

	wg.Wait()

	return total.Load(), errors.Join(errs...)
}

func readFile(path string, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("raw read: %w", err)
	}
	defer f.Close()

	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	if err != nil {
		return n, fmt.Errorf("raw read %s: %w", path, err)
	}

	return n, nil
}

// regularFiles lists the regular files under dir.
func regularFiles(dir string) ([]string, error) {
	var paths []string

	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, path)
		}

		return err
	})

	return paths, err
}

// digest is a SHA-256 over every regular file under dir: its relative
// path, permissions and content. A restored tree has the source's digest.
func digest(dir string) (string, error) {
	paths, err := regularFiles(dir)
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", dir, err)
	}

	slices.Sort(paths)

	h := sha256.New()
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("digest: %w", err)
		}

		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("digest: %w", err)
		}

		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %o %d\n", rel, info.Mode().Perm(), len(b))
		h.Write(b)
	}

	return hex.EncodeToString(h.Sum(nil)), nil
}
