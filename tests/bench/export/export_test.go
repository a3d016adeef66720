package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/functions"
)

// The generated tree is deterministic, holds what tree says, reads back
// whole, and change makes 1% of it new.
func TestMakeTree(t *testing.T) {
	const size = 16 << 20

	a, err := makeTree(filepath.Join(t.TempDir(), "a"), size, 1)
	if err != nil {
		t.Fatal(err)
	}

	b, err := makeTree(filepath.Join(t.TempDir(), "b"), size, 1)
	if err != nil {
		t.Fatal(err)
	}

	da, db := mustDigest(t, a.dir), mustDigest(t, b.dir)
	if da != db {
		t.Error("two trees from the same seed differ")
	}

	if got := a.randomBytes + a.copyBytes + a.smallBytes; got != a.bytes || a.files != int64(len(randomMiB)+len(copied))+a.nSmall {
		t.Errorf("tree = %+v: parts don't add up", a)
	}

	if a.bytes < size*9/10 || a.bytes > size*11/10 {
		t.Errorf("tree holds %d bytes, want about %d", a.bytes, size)
	}

	n, err := rawRead(a.dir)
	if err != nil || n != a.bytes {
		t.Errorf("rawRead = %d, %v; want %d bytes", n, err, a.bytes)
	}

	newBytes, newFiles, err := change(&a, 1)
	if err != nil {
		t.Fatal(err)
	}

	if mustDigest(t, a.dir) == da {
		t.Error("change left the tree as it was")
	}

	if newFiles != (a.nSmall+changeFraction-1)/changeFraction+1 || newBytes < a.bytes/changeFraction*9/10 || newBytes > a.bytes/changeFraction*2 {
		t.Errorf("change wrote %d files, %d bytes; want 1%% of %d files, %d bytes", newFiles, newBytes, a.files, a.bytes)
	}

	if n, err := rawRead(a.dir); err != nil || n != a.bytes {
		t.Errorf("after change, rawRead = %d, %v; want %d bytes", n, err, a.bytes)
	}
}

func mustDigest(t *testing.T, dir string) string {
	t.Helper()

	d, err := digest(dir)
	if err != nil {
		t.Fatal(err)
	}

	return d
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1GiB", 1 << 30, false},
		{"64MiB", 64 << 20, false},
		{"16384KiB", 16 << 20, false},
		{"33554432", 32 << 20, false},
		{"1MiB", 0, true},
		{"1GB", 0, true},
		{"-1GiB", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func sec(s float64) measure {
	return measure{wall: time.Duration(s * float64(time.Second)), cpu: time.Duration(s * float64(time.Second))}
}

// Goals compare the filesystem export with each reference, and the table
// prints every figure's ratios to the kopia CLI's same work and raw read.
func TestReport(t *testing.T) {
	r := results{
		raw: sec(0.5), full: sec(4), fullAzure: sec(8), kopiaFull: sec(5), restic: sec(10),
		incr: sec(0.4), kopiaIncr: sec(0.8),
		restore: sec(2), restoreAzure: sec(4), kopiaRestore: sec(3),
		bytes: 1 << 30, incrBytes: 1 << 30, restoreBytes: 1 << 30,
		newBytes: 10 << 20, newFiles: 101, parallel: 2, verifyPercent: 10,
	}

	type got struct {
		Name, Measured string
		Met            bool
	}

	var goals []got
	for _, g := range r.goals() {
		goals = append(goals, got{g.name, g.format(g.got), g.met()})
	}

	want := []got{
		{"export ≥ 0.95× kopia CLI", "1.25×", true},
		{"export ≥ 2× restic", "2.50×", true},
		{"export ≥ 0.6× raw read", "0.12×", false},
		{"incremental ≤ 5% of the full export's time", "10.0%", false},
	}
	if diff := cmp.Diff(want, goals); diff != "" {
		t.Errorf("goals (-want +got):\n%s", diff)
	}

	var out bytes.Buffer
	r.print(&out, machine{cpus: 2, model: "AMD EPYC", memory: "24576000 kB", storage: "/dev/shm (tmpfs)"}, tree{bytes: 1 << 30})

	for _, line := range []string{
		"Machine: 2 CPUs (AMD EPYC), 23.4 GiB RAM; tree, repositories and restores in /dev/shm (tmpfs).",
		"| raw read: every file read and discarded, one reader per core | 0.50 | 2048 | 1.00 | 0.00 | — | 1.00 |",
		"| snapflow export → filesystem repository (parallel 2) | 4.00 | 256 | 1.00 | 0.00 | 1.25 | 0.12 |",
		"| snapflow export → Azurite¹ (parallel 2) | 8.00 | 128 | 1.00 | 0.00 | 0.62 | 0.06 |",
		"| restic `backup` → filesystem repository | 10.00 | 102 | 1.00 | 0.00 | 0.50 | 0.05 |",
		"| snapflow incremental export after 1% change → filesystem² | 0.40 | 2560 | 1.00 | 0.00 | 2.00 | 1.25 |",
		"| snapflow restore ← Azurite³ (verify 10%) | 4.00 | 256 | 1.00 | 0.00 | 0.75 | 0.12 |",
		"| incremental ≤ 5% of the full export's time | 10.0% | **no** |",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("report lacks line\n%s\nin\n%s", line, out.String())
		}
	}
}

// The benchmark restores with the restore function's default verification.
func TestRestoreVerifyPercent(t *testing.T) {
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}

	f, ok := reg.Lookup("restore")
	if !ok {
		t.Fatal("no restore function")
	}

	for _, a := range f.Signature().Args {
		if a.Name == "verifyPercent" {
			if a.Default != float64(restoreVerifyPercent) {
				t.Errorf("restore's verifyPercent defaults to %v; restoreVerifyPercent is %v", a.Default, restoreVerifyPercent)
			}

			return
		}
	}

	t.Error("restore has no verifyPercent arg")
}
