package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// bench holds one benchmark run's tree and tools.
type bench struct {
	o              options
	work, password string
	tree           tree // as it is now
	initial        tree // as generated, before the 1% change
	kopia          kopiaCLI
	verifyPercent  float64
}

// prepare generates the tree and creates the kopia CLI's repository.
func (b *bench) prepare(ctx context.Context) error {
	b.verifyPercent = restoreVerifyPercent

	logf("generating a %s tree in %s", mib(b.o.size), b.work)

	var err error
	if b.tree, err = makeTree(filepath.Join(b.work, "data"), b.o.size, b.o.seed); err != nil {
		return err
	}

	b.initial = b.tree
	logf("tree: %s", b.tree.describe())

	b.kopia = newKopiaCLI(b.o.kopia, filepath.Join(b.work, "kopia-cli"), b.password)

	return b.kopia.create(ctx, filepath.Join(b.work, "kopia-repo"))
}

// run times every figure, one after the other.
func (b *bench) run(ctx context.Context) (results, error) {
	r := results{bytes: b.tree.bytes, parallel: b.o.parallel, verifyPercent: b.verifyPercent}
	if r.parallel == 0 {
		r.parallel = runtime.GOMAXPROCS(0)
	}

	data := b.tree.dir

	want, err := digest(data)
	if err != nil {
		return r, err
	}

	logf("raw read")

	if r.raw, err = inProcess(ctx, "raw-read", func() error { return checkRawRead(data, b.tree.bytes) }); err != nil {
		return r, err
	}

	fsRepo := b.snapflowRepo(
		v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: filepath.Join(b.work, "fs-repo")},
		repository.Credentials{Password: b.password},
	)
	if err := fsRepo.create(ctx); err != nil {
		return r, err
	}

	logf("snapflow export to the filesystem repository")

	var full repository.Result
	if r.full, err = inProcess(ctx, "export-fs", func() (err error) { full, err = fsRepo.export(ctx, data); return err }); err != nil {
		return r, err
	}

	r.fullUpload = full.Duration

	if full.Files != b.tree.files || full.BytesTotal != b.tree.bytes {
		return r, fmt.Errorf("snapflow export holds %d files, %d bytes; the tree has %d, %d", full.Files, full.BytesTotal, b.tree.files, b.tree.bytes)
	}

	logf("kopia CLI snapshot")

	if r.kopiaFull, err = b.kopia.snapshot(ctx, data); err != nil {
		return r, err
	}

	logf("restic backup")

	if r.restic, err = b.restic(ctx, data); err != nil {
		return r, err
	}

	if r.fullAzure, r.restoreAzure, err = b.azure(ctx, data, want); err != nil {
		return r, err
	}

	logf("changing 1%% of the tree")

	if r.newBytes, r.newFiles, err = change(&b.tree, b.o.seed); err != nil {
		return r, err
	}

	r.incrBytes, r.restoreBytes = b.tree.bytes, b.tree.bytes

	if want, err = digest(data); err != nil {
		return r, err
	}

	logf("incremental exports")

	var incr repository.Result
	if r.incr, err = inProcess(ctx, "incremental-fs", func() (err error) { incr, err = fsRepo.export(ctx, data); return err }); err != nil {
		return r, err
	}

	r.incrUpload = incr.Duration

	if incr.ParentSnapshotID != full.SnapshotID {
		return r, fmt.Errorf("incremental export's parent is %q, want the full export %s", incr.ParentSnapshotID, full.SnapshotID)
	}

	if r.kopiaIncr, err = b.kopia.snapshot(ctx, data); err != nil {
		return r, err
	}

	logf("restores")

	dst := filepath.Join(b.work, "restore")
	if r.restore, err = inProcess(ctx, "restore-fs", func() error {
		_, err := fsRepo.restore(ctx, incr.SnapshotID, dst, b.verifyPercent)
		return err
	}); err != nil {
		return r, err
	}

	if err := checkRestored(dst, want, "snapflow"); err != nil {
		return r, err
	}

	id, err := b.kopia.latest(ctx, data)
	if err != nil {
		return r, err
	}

	if r.kopiaRestore, err = b.kopia.restore(ctx, id, dst); err != nil {
		return r, err
	}

	return r, checkRestored(dst, want, "kopia CLI")
}

// restic times one restic backup of data into a new repository, then
// removes the repository.
func (b *bench) restic(ctx context.Context, data string) (measure, error) {
	dir := filepath.Join(b.work, "restic")
	defer os.RemoveAll(dir)

	rs, err := newRestic(ctx, dir, b.password)
	if err != nil {
		return measure{}, err
	}

	return rs.backup(ctx, data)
}

// azure times snapflow's export of data to Azurite and its restore from
// there, then stops Azurite and removes its data.
func (b *bench) azure(ctx context.Context, data, want string) (export, restore measure, err error) {
	dir := filepath.Join(b.work, "azurite")
	defer os.RemoveAll(dir)

	az, err := startAzurite(ctx, b.o.azurite, dir)
	if err != nil {
		return export, restore, err
	}
	defer az.stop()

	rep := b.snapflowRepo(
		v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Endpoint: az.endpoint, Container: "bench", Prefix: "export"},
		repository.Credentials{Password: b.password, AzureAccountName: azuriteAccount, AzureAccountKey: az.key},
	)
	if err := rep.create(ctx); err != nil {
		return export, restore, err
	}

	// withAzurite adds Azurite's CPU time to f's.
	withAzurite := func(name string, f func() error) (measure, error) {
		cpu0, err := az.cpu()
		if err != nil {
			return measure{}, err
		}

		m, err := inProcess(ctx, name, f)
		if err != nil {
			return m, err
		}

		cpu1, err := az.cpu()
		m.cpu += cpu1 - cpu0

		if m.others >= 0 { // Azurite is not among the others
			m.others = max(0, m.others-(cpu1-cpu0).Seconds()/m.wall.Seconds())
		}

		return m, err
	}

	logf("snapflow export to Azurite")

	var res repository.Result
	if export, err = withAzurite("export-azurite", func() (err error) { res, err = rep.export(ctx, data); return err }); err != nil {
		return export, restore, err
	}

	logf("snapflow restore from Azurite")

	dst := filepath.Join(b.work, "restore-azure")
	defer os.RemoveAll(dst)

	if restore, err = withAzurite("restore-azurite", func() error {
		_, err := rep.restore(ctx, res.SnapshotID, dst, b.verifyPercent)
		return err
	}); err != nil {
		return export, restore, err
	}

	return export, restore, checkRestored(dst, want, "snapflow (Azurite)")
}

func (b *bench) snapflowRepo(loc v1alpha1.LocationSpec, creds repository.Credentials) snapflowRepo {
	return snapflowRepo{loc: loc, creds: creds, parallel: b.o.parallel, work: b.work}
}

// checkRawRead reads the tree and checks that it read size bytes.
func checkRawRead(dir string, size int64) error {
	n, err := rawRead(dir)
	if err == nil && n != size {
		err = fmt.Errorf("raw read read %d bytes, the tree has %d", n, size)
	}

	return err
}

// checkRestored compares dst with the source's digest, then removes dst.
func checkRestored(dst, want, who string) error {
	defer os.RemoveAll(dst)

	got, err := digest(dst)
	if err != nil {
		return err
	}

	if got != want {
		return fmt.Errorf("the tree %s restored differs from the source", who)
	}

	return nil
}

// restoreVerifyPercent is the restore function's default verifyPercent
// (functions/restore.go), which the mover gets unless a blueprint says
// otherwise; a test keeps the two equal.
const restoreVerifyPercent = 10

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails

	return hex.EncodeToString(b)
}

// logf reports progress on stderr; the table goes to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
