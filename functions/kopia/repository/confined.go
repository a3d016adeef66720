package repository

import (
	"context"
	"fmt"
	"path"
	"path/filepath"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/restore"
)

// confinedOutput refuses what would write outside the restore's target:
// an entry whose name climbs out (kopia joins names to the target as they
// are) or a symlink whose target leaves the tree, which a later entry or
// the app could write through. A repository is outside the controller's
// trust: anyone with its password can write any snapshot into it.
type confinedOutput struct {
	restore.Output
}

// local reports whether rel, slash-separated and relative to the target,
// stays inside it; "" is the target itself.
func local(rel string) bool {
	return rel == "" || filepath.IsLocal(filepath.FromSlash(rel))
}

func confine(rel string) error {
	if !local(rel) {
		return fmt.Errorf("refused entry %q: its name leads outside the restored volume", rel)
	}
	return nil
}

func (o confinedOutput) BeginDirectory(ctx context.Context, rel string, e fs.Directory) error {
	if err := confine(rel); err != nil {
		return err
	}
	return o.Output.BeginDirectory(ctx, rel, e)
}

func (o confinedOutput) WriteDirEntry(ctx context.Context, rel string, de *snapshot.DirEntry, e fs.Directory) error {
	if err := confine(rel); err != nil {
		return err
	}
	return o.Output.WriteDirEntry(ctx, rel, de, e)
}

func (o confinedOutput) WriteFile(ctx context.Context, rel string, e fs.File, cb restore.FileWriteProgress) error {
	if err := confine(rel); err != nil {
		return err
	}
	return o.Output.WriteFile(ctx, rel, e, cb)
}

func (o confinedOutput) CreateSymlink(ctx context.Context, rel string, e fs.Symlink) error {
	if err := confine(rel); err != nil {
		return err
	}
	target, err := e.Readlink(ctx)
	if err != nil {
		return fmt.Errorf("read link %q: %w", rel, err)
	}
	if path.IsAbs(target) || !local(path.Join(path.Dir(rel), target)) {
		return fmt.Errorf("refused symlink %q -> %q: it points outside the restored volume", rel, target)
	}
	return o.Output.CreateSymlink(ctx, rel, e)
}
