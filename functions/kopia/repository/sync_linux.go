package repository

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFilesystem flushes the filesystem holding dir to disk: one syncfs
// instead of an fsync per restored file.
func syncFilesystem(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()

	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}

	return nil
}
