// Command export is snapflow's export benchmark (issue #6), the table in
// the README's "Export benchmark" section. `make bench` runs it:
//
//	go run ./tests/bench/export            # the 1 GiB tree
//	go run ./tests/bench/export -size 64MiB # a quick run
//
// In one process run it generates a deterministic tree (random large
// files, byte-identical copies of some of them, and 10,000 small files;
// see tree.go) in /dev/shm, so that no disk blurs what is measured, and
// times, each once and one after the other:
//
//   - raw read: every file read and discarded, the physical limit;
//   - snapflow's export (what `snapflow mover export` does:
//     repository.Upload with one worker per CPU) to a filesystem
//     repository and to Azurite, and its restore from both;
//   - the kopia CLI, built from the kopia module go.mod pins, and restic
//     (Debian's package) backing up the same tree to a filesystem
//     repository;
//   - snapflow's and the kopia CLI's incremental run after 1% of the tree
//     changed, and the kopia CLI's restore.
//
// It prints a Markdown table of seconds, MiB/s, cores used, cores other
// processes used meanwhile (a shared machine blurs the figures; the column
// says how much) and each figure's speed as a ratio to the kopia CLI's and
// to raw read, then whether each of the goals is met. It reports
// timings and never fails on them; it fails only when a run fails or a
// restore differs from its source. -cpuprofile writes a CPU profile whose
// samples carry the label run=<figure>. Passwords reach kopia and restic
// through the environment (KOPIA_PASSWORD) or a file
// (RESTIC_PASSWORD_FILE), never their command lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "export benchmark:", err)
		stop()
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	size     int64
	seed     uint64
	dir      string // parent of the work dir
	kopia    string // a kopia CLI binary; empty builds one
	azurite  string // azurite-blob
	parallel int    // snapflow's upload parallelism; 0 is one per CPU
	profile  string // CPU profile of this process
}

func parseFlags(args []string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	size := fs.String("size", "1GiB", "size of the generated tree (KiB, MiB, GiB suffixes)")
	fs.Uint64Var(&o.seed, "seed", 6, "seed of the generated tree")
	fs.StringVar(&o.dir, "dir", defaultDir(), "where the tree, repositories and restores go (a tmpfs keeps the disk out of the figures)")
	fs.StringVar(&o.kopia, "kopia", "", "kopia CLI binary to compare with (default: build github.com/kopia/kopia at the version go.mod pins)")
	fs.StringVar(&o.azurite, "azurite", azuriteBin(), "azurite-blob binary (installed by `make cluster-tools`)")
	fs.IntVar(&o.parallel, "parallel", 0, "snapflow's upload parallelism, as the mover's; 0 is one per CPU")
	fs.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of this process (snapflow's runs) to `file`; samples carry the label run=<figure>")

	if err := fs.Parse(args); err != nil {
		return o, err
	}

	n, err := parseSize(*size)
	if err != nil {
		return o, fmt.Errorf("-size: %w", err)
	}

	o.size = n

	return o, nil
}

func defaultDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}

	return os.TempDir()
}

// parseSize parses "1GiB", "64MiB", "512KiB" or a number of bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)

	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
			break
		}
	}

	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as 1GiB or 64MiB", s)
	}

	if n*mult < 16<<20 {
		return 0, fmt.Errorf("%d bytes is too small: at least 16MiB", n*mult)
	}

	return n * mult, nil
}

// needFree is how many times the tree's size the work dir needs at once:
// the tree, two repositories, restic's or Azurite's and a restore.
const needFree = 5

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}

	if err := checkFree(o.dir, needFree*o.size); err != nil {
		return err
	}

	work, err := os.MkdirTemp(o.dir, "snapflow-export-bench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)

	if o.kopia == "" {
		fmt.Fprintf(os.Stderr, "building the kopia CLI (%s %s)...\n", kopiaModule, kopiaVersion())

		if o.kopia, err = buildKopiaCLI(ctx, work); err != nil {
			return err
		}
	}

	b := &bench{o: o, work: work, password: randomPassword()}
	if err := b.prepare(ctx); err != nil {
		return err
	}

	m := thisMachine(fsType(o.dir), resticVersion(ctx))

	if o.profile != "" {
		stop, err := startProfile(o.profile)
		if err != nil {
			return err
		}
		defer stop()
	}

	before := sampleBusy()

	res, err := b.run(ctx)
	if err != nil {
		return err
	}

	m.loadAfter, m.others = loadAverage(), othersCores(before, sampleBusy())
	res.print(os.Stdout, m, b.initial)

	return nil
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}

	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}

	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// checkFree fails when dir has less than n bytes free.
func checkFree(dir string, n int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space in %s: %w", dir, err)
	}

	if free := int64(st.Bavail) * st.Bsize; free < n {
		return fmt.Errorf("%s has %s free, the benchmark needs %s (%d× the tree): use -dir or a smaller -size", dir, mib(free), mib(n), needFree)
	}

	return nil
}

// fsType names dir's filesystem for the report: tmpfs or a disk.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Type == 0x01021994 { // TMPFS_MAGIC
		return dir + " (tmpfs)"
	}

	return dir
}
