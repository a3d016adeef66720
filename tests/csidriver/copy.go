package csidriver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// copyTree copies the directory src to dst, which must not exist yet. It
// copies regular files, directories and symlinks, keeps modes, owners and
// modification times, skips other file types (sockets, devices, FIFOs), and
// returns the number of file bytes copied.
func copyTree(src, dst string) (int64, error) {
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("copy %s: destination %s exists", src, dst)
	}
	var copied int64
	var dirs []string // created directories; their metadata is set last
	var infos []fs.FileInfo
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs, infos = append(dirs, target), append(infos, info)
			return nil
		case e.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case e.Type().IsRegular():
			n, err := copyFile(p, target)
			copied += n
			if err != nil {
				return err
			}
			if err := os.Chtimes(target, info.ModTime(), info.ModTime()); err != nil {
				return err
			}
		default:
			return nil
		}
		return copyOwnerAndMode(target, info)
	})
	if err != nil {
		return copied, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	// Directories last, deepest first: creating their children changed
	// their times, and a read-only mode would have blocked the children.
	for i := len(dirs) - 1; i >= 0; i-- {
		err := copyOwnerAndMode(dirs[i], infos[i])
		if err == nil {
			err = os.Chtimes(dirs[i], infos[i].ModTime(), infos[i].ModTime())
		}
		if err != nil {
			return copied, fmt.Errorf("copy %s to %s: %w", src, dst, err)
		}
	}
	return copied, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// copyOwnerAndMode gives target the owner and permission bits (including
// setuid, setgid and sticky) of info. Ownership needs root; without it the
// copy keeps the driver's own uid and gid.
func copyOwnerAndMode(target string, info fs.FileInfo) error {
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		err := os.Lchown(target, int(sys.Uid), int(sys.Gid))
		if err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil // symlink modes are not used on Linux
	}
	mode := info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	return os.Chmod(target, mode)
}
