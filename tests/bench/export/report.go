package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// results are every run's measure.
type results struct {
	raw                                 measure
	full, fullAzure, kopiaFull, restic  measure
	incr, kopiaIncr                     measure
	restore, restoreAzure, kopiaRestore measure
	bytes, incrBytes, restoreBytes      int64         // tree size for the full, incremental and restore runs
	newBytes, newFiles                  int64         // what the 1% change wrote
	fullUpload, incrUpload              time.Duration // of full and incr, the time in repository.Upload
	parallel                            int           // snapflow's upload parallelism
	verifyPercent                       float64
}

// row is one line of the table.
type row struct {
	figure string
	m      measure
	bytes  int64
	kopia  time.Duration // the kopia CLI's time for the same work; 0: none
}

func (r results) rows() []row {
	return []row{
		{"raw read: every file read and discarded, one reader per core", r.raw, r.bytes, 0},
		{fmt.Sprintf("snapflow export → filesystem repository (parallel %d)", r.parallel), r.full, r.bytes, r.kopiaFull.wall},
		{fmt.Sprintf("snapflow export → Azurite¹ (parallel %d)", r.parallel), r.fullAzure, r.bytes, r.kopiaFull.wall},
		{"kopia CLI `snapshot create` → filesystem repository", r.kopiaFull, r.bytes, r.kopiaFull.wall},
		{"restic `backup` → filesystem repository", r.restic, r.bytes, r.kopiaFull.wall},
		{"snapflow incremental export after 1% change → filesystem²", r.incr, r.incrBytes, r.kopiaIncr.wall},
		{"kopia CLI incremental snapshot after 1% change²", r.kopiaIncr, r.incrBytes, r.kopiaIncr.wall},
		{fmt.Sprintf("snapflow restore ← filesystem repository³ (verify %g%%)", r.verifyPercent), r.restore, r.restoreBytes, r.kopiaRestore.wall},
		{fmt.Sprintf("snapflow restore ← Azurite³ (verify %g%%)", r.verifyPercent), r.restoreAzure, r.restoreBytes, r.kopiaRestore.wall},
		{"kopia CLI `snapshot restore` ← filesystem repository", r.kopiaRestore, r.restoreBytes, r.kopiaRestore.wall},
	}
}

// goal is one of issue #6's goals for snapflow's export to a filesystem
// repository.
type goal struct {
	name     string
	got      float64
	want     float64
	atMost   bool // got must be <= want, not >=
	asFactor bool // print as 1.23×, not 4.5%
}

func (g goal) met() bool {
	if g.atMost {
		return g.got <= g.want
	}

	return g.got >= g.want
}

func (g goal) format(v float64) string {
	if g.asFactor {
		return fmt.Sprintf("%.2f×", v)
	}

	return fmt.Sprintf("%.1f%%", 100*v)
}

func (r results) goals() []goal {
	full := r.full.wall.Seconds()

	return []goal{
		{"export ≥ 0.95× kopia CLI", r.kopiaFull.wall.Seconds() / full, 0.95, false, true},
		{"export ≥ 2× restic", r.restic.wall.Seconds() / full, 2, false, true},
		{"export ≥ 0.6× raw read", r.raw.wall.Seconds() / full, 0.6, false, true},
		{"incremental ≤ 5% of the full export's time", r.incr.wall.Seconds() / full, 0.05, true, false},
	}
}

// machine describes where the benchmark ran.
type machine struct {
	cpus                   int
	model, memory, storage string
	loadBefore, loadAfter  string
	others                 float64 // cores other processes kept busy during the run
	goVersion, kopia       string
	restic                 string
}

func thisMachine(storage, resticVersion string) machine {
	return machine{
		cpus:       runtime.NumCPU(),
		model:      procField("/proc/cpuinfo", "model name"),
		memory:     procField("/proc/meminfo", "MemTotal"),
		storage:    storage,
		loadBefore: loadAverage(),
		goVersion:  runtime.Version(),
		kopia:      kopiaVersion(),
		restic:     resticVersion,
	}
}

// procField is the value of the first "key: value" line in a /proc file.
func procField(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}

	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}

	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}

	f := strings.Fields(string(b))

	return strings.Join(f[:min(3, len(f))], " ")
}

// print writes the report as Markdown.
func (r results) print(w io.Writer, m machine, t tree) {
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %s RAM; tree, repositories and restores in %s.\n", m.cpus, m.model, memGiB(m.memory), m.storage)
	fmt.Fprintf(w, "Other processes kept %.2f cores busy on average during the runs (load average before/after: %s / %s). %s, kopia %s, %s.\n",
		m.others, m.loadBefore, m.loadAfter, m.goVersion, m.kopia, m.restic)
	fmt.Fprintf(w, "Tree: %s.\n\n", t.describe())

	fmt.Fprintln(w, "| figure | s | MiB/s | cores | others | × kopia CLI | × raw read |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")

	for _, row := range r.rows() {
		s := row.m.wall.Seconds()
		kopia := "—"

		if row.kopia > 0 {
			kopia = fmt.Sprintf("%.2f", row.kopia.Seconds()/s)
		}

		others := "?"
		if row.m.others >= 0 {
			others = fmt.Sprintf("%.2f", row.m.others)
		}

		fmt.Fprintf(w, "| %s | %.2f | %.0f | %.2f | %s | %s | %.2f |\n",
			row.figure, s, float64(row.bytes)/(1<<20)/s, row.m.cores(), others, kopia, r.raw.wall.Seconds()/s)
	}

	fmt.Fprintf(w, "\nThe ×-columns are speed ratios, the other run's time over this run's; × kopia CLI compares with the kopia CLI doing the same work (export, incremental or restore). cores is the run's CPU time over its wall time; others, the cores other processes on the machine kept busy meanwhile.\n")
	fmt.Fprintf(w, "¹ The kopia CLI's own azure backend can't address Azurite's path-style URLs, so the kopia CLI and restic are measured on the filesystem repository only; the Azurite rows compare with those. Their cores include Azurite's.\n")
	fmt.Fprintf(w, "² %d files (1%%) changed or added, %s of new data; MiB/s is the whole tree's size over the run's time. "+
		"Of snapflow's runs, repository.Upload took %.2f s (full) and %.2f s (incremental); the rest opened the repository (scrypt key derivation, indexes read into an empty cache).\n",
		r.newFiles, mib(r.newBytes), r.fullUpload.Seconds(), r.incrUpload.Seconds())
	fmt.Fprintf(w, "³ Includes the mover's read-back verification (the restore function's default verifyPercent). The kopia CLI verifies nothing.\n")
	fmt.Fprintf(w, "Every snapflow run is what a mover pod does (functions/mover.Run) with an empty config and cache dir; the kopia CLI keeps its cache between runs and runs no automatic maintenance.\n\n")

	fmt.Fprintln(w, "| goal (snapflow export → filesystem) | measured | met |")
	fmt.Fprintln(w, "|---|---:|---|")

	for _, g := range r.goals() {
		met := "yes"
		if !g.met() {
			met = "**no**"
		}

		fmt.Fprintf(w, "| %s | %s | %s |\n", g.name, g.format(g.got), met)
	}
}

// mib formats n bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// memGiB turns /proc/meminfo's "24576000 kB" into "23.4 GiB".
func memGiB(s string) string {
	var kb int64
	if _, err := fmt.Sscanf(s, "%d kB", &kb); err != nil {
		return s
	}

	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}
