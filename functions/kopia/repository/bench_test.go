package repository

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// BenchmarkUploadLargeFile uploads one 256 MiB random file into a new
// filesystem repository (in /dev/shm when there is one), once split into
// parts uploaded in parallel (snapflow's default, ParallelUploadAboveSize)
// and once as a whole file (kopia's behaviour below its 2 GiB default, and
// Velero's), with 1 and 2 workers. The cores metric is CPU
// time over wall time: how many cores the upload kept busy.
//
//	go test ./functions/kopia/repository -run '^$' -bench UploadLargeFile -benchtime 3x
func BenchmarkUploadLargeFile(b *testing.B) {
	const size = 256 << 20

	src := memDir(b)
	writeFile(b, filepath.Join(src, "disk.img"), randomBytes(newRand(5), size), 0o600)

	for _, bc := range []struct {
		name     string
		parallel int
		above    int64
	}{
		{"parallel=1/split", 1, ParallelUploadAboveSize},
		{"parallel=1/whole-file", 1, -1},
		{"parallel=2/split", 2, ParallelUploadAboveSize},
		{"parallel=2/whole-file", 2, -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)

			var cpu, wall time.Duration

			for range b.N {
				b.StopTimer()
				loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: memDir(b)}
				rep := openRepo(b, testStorage(b, loc, Credentials{}, true), testPassword)
				b.StartTimer()

				cpu0, wall0 := cpuTime(b), time.Now()

				_, err := uploadDir(b.Context(), rep, src, testSource("pvc"), uploadOptions{parallel: bc.parallel, parallelAbove: bc.above}, nil)
				if err != nil {
					b.Fatal(err)
				}

				cpu, wall = cpu+cpuTime(b)-cpu0, wall+time.Since(wall0)
			}

			// cores is the CPU time per wall time: how many cores the upload kept busy.
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
		})
	}
}

// memDir is a temp dir in /dev/shm when there is one, so that disk writes
// don't blur what is measured.
func memDir(b *testing.B) string {
	if _, err := os.Stat("/dev/shm"); err != nil {
		return b.TempDir()
	}

	dir, err := os.MkdirTemp("/dev/shm", "snapflow-bench-")
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { os.RemoveAll(dir) })

	return dir
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}

	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
