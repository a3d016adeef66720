//go:build linux

package csidriver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxStackedMounts bounds how many mounts unmountAll peels off one path.
const maxStackedMounts = 16

// isMountPoint reports whether path (symlinks resolved) is a mount point in
// this process's mount namespace. A missing path is not one.
func isMountPoint(path string) (bool, error) {
	p, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resolve %s: %w", path, err)
	}
	points, err := mountPoints()
	if err != nil {
		return false, err
	}
	return slices.Contains(points, p), nil
}

// mountPoints lists the mount points in /proc/self/mountinfo (field 5).
func mountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, unescapeOctal(f[4]))
		}
	}
	return out, nil
}

// unescapeOctal undoes the \ooo escapes the kernel writes for spaces, tabs,
// newlines and backslashes in mount paths.
func unescapeOctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// bindMount bind-mounts src at target; readOnly remounts the bind read-only.
func bindMount(src, target string, readOnly bool) error {
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s at %s: %w", src, target, err)
	}
	if !readOnly {
		return nil
	}
	flags := uintptr(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY) | lockedFlags(target)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		_ = unix.Unmount(target, 0)
		return fmt.Errorf("remount %s read-only: %w", target, err)
	}
	return nil
}

// lockedFlags returns the mount flags target already has that a bind
// remount must repeat (in a user namespace the kernel refuses to clear them).
func lockedFlags(target string) uintptr {
	var st unix.Statfs_t
	if unix.Statfs(target, &st) != nil {
		return 0
	}
	var flags uintptr
	for _, f := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if int64(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return flags
}

// unmountAll unmounts target until it is no longer a mount point; a path
// that is not mounted is left alone.
func unmountAll(target string) error {
	for range maxStackedMounts {
		mounted, err := isMountPoint(target)
		if err != nil || !mounted {
			return err
		}
		err = unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after %d unmounts", target, maxStackedMounts)
}
