package csidriver

// The data side of the Azure-disk personality: a volume's files become
// its disk's bytes as a tar stream at offset 0, and a disk's bytes become
// a new volume's files, through the local ARM's data endpoint.

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fillVolume makes v's directory, empty or unpacked from its disk.
func (d *driver) fillVolume(ctx context.Context, v *volume, fromDisk bool) (int64, error) {
	dir := d.volumeDir(v.ID)
	err := removeData(dir) // what an interrupted attempt left
	if err == nil {
		err = os.Mkdir(dir, 0o777)
	}
	if err == nil {
		err = os.Chmod(dir, 0o777) // any pod user may write, whatever the umask
	}
	var copied int64
	if err == nil && fromDisk {
		copied, err = d.unpackDisk(ctx, v.ID, v.CapacityBytes, dir)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return 0, internalErr(fmt.Errorf("fill volume %s: %w", v.ID, err))
	}
	return copied, nil
}

func (d *driver) unpackDisk(ctx context.Context, id string, size int64, dir string) (int64, error) {
	rc, err := d.az.cfg.Data.Read(ctx, id, 0, size)
	if err != nil {
		return 0, err
	}
	defer rc.Close() // before the end: the tar stream ends before the disk
	return untar(rc, dir)
}

// packVolume writes v's files to its disk at offset 0 as a tar stream,
// through a temporary file, since the data endpoint wants the length first.
func (d *driver) packVolume(ctx context.Context, v *volume) error {
	f, err := os.CreateTemp(d.cfg.DataDir, ".pack-*.tar")
	if err != nil {
		return internalErr(fmt.Errorf("pack volume %s: %w", v.ID, err))
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := writeTar(d.volumeDir(v.ID), f)
	if err == nil && n > v.CapacityBytes {
		return status.Errorf(codes.ResourceExhausted, "volume %s: its files take %d bytes as tar, more than its %d-byte disk", v.ID, n, v.CapacityBytes)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err == nil {
		err = d.az.cfg.Data.Write(ctx, v.ID, 0, f, n)
	}
	if err != nil {
		return internalErr(fmt.Errorf("pack volume %s: %w", v.ID, err))
	}
	return nil
}

// writeTar packs the tree at dir as a tar stream to w and returns its
// length. It keeps what copyTree keeps (regular files, directories and
// symlinks; modes, owners, modification times) and nothing that varies
// between runs, in lexical order, so an unchanged file keeps its bytes and
// offset and an incremental snapshot of the disk stays small.
func writeTar(dir string, w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
			return nil // sockets, devices, FIFOs
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return writeEntry(tw, p, filepath.ToSlash(rel), e)
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return cw.n, fmt.Errorf("pack %s: %w", dir, err)
	}
	return cw.n, nil
}

func writeEntry(tw *tar.Writer, p, name string, e fs.DirEntry) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	link := ""
	if e.Type()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if e.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname, hdr.AccessTime, hdr.ChangeTime = "", "", time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX // nanosecond mtimes
	if err := tw.WriteHeader(hdr); err != nil || !e.Type().IsRegular() {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s changed while packed: %w", name, err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// untar unpacks a writeTar stream into the existing directory dir and
// returns the file bytes written. It stops at the end-of-archive marker,
// whatever follows, and cannot write outside dir (os.Root), whatever the
// stream's names and symlinks.
func untar(r io.Reader, dir string) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	var copied int64
	var dirs []*tar.Header // their metadata is set last, deepest first
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			hdr.Name = path.Clean(hdr.Name)
			err = unpackEntry(root, tr, hdr, &copied)
		}
		if err != nil {
			return copied, fmt.Errorf("unpack into %s: %w", dir, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setMeta(root, dirs[i]); err != nil {
			return copied, fmt.Errorf("unpack into %s: %w", dir, err)
		}
	}
	return copied, nil
}

func unpackEntry(root *os.Root, tr *tar.Reader, hdr *tar.Header, copied *int64) error {
	name := filepath.FromSlash(hdr.Name)
	if !filepath.IsLocal(name) && name != "." {
		return fmt.Errorf("entry %q is outside the volume", hdr.Name)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		return root.Mkdir(name, 0o700)
	case tar.TypeSymlink:
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return lchown(root, hdr)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, tr)
		*copied += n
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return setMeta(root, hdr)
	}
	return nil // what writeTar never writes
}

// setMeta gives an unpacked file or directory its owner, mode and mtime.
func setMeta(root *os.Root, hdr *tar.Header) error {
	if err := lchown(root, hdr); err != nil {
		return err
	}
	m := hdr.FileInfo().Mode()
	if err := root.Chmod(hdr.Name, m.Perm()|m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return root.Chtimes(hdr.Name, hdr.ModTime, hdr.ModTime)
}

// lchown keeps the owner; without root the files keep the driver's.
func lchown(root *os.Root, hdr *tar.Header) error {
	if err := root.Lchown(hdr.Name, hdr.Uid, hdr.Gid); err != nil && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return nil
}
