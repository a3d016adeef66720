package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measure is one timed run.
type measure struct {
	wall time.Duration
	// cpu is the user and system CPU time of the client (this process or
	// the CLI) and, for runs against Azurite, of Azurite.
	cpu time.Duration
	// others is how many cores other processes kept busy meanwhile; -1
	// when /proc/stat can't tell.
	others float64
}

// cores is how many cores the run kept busy on average.
func (m measure) cores() float64 { return m.cpu.Seconds() / m.wall.Seconds() }

// inProcess times f and the CPU time this process spends meanwhile. f
// runs with the pprof label run=name, so that a -cpuprofile can be cut
// by run (go tool pprof -tagfocus run=export-fs).
func inProcess(ctx context.Context, name string, f func() error) (measure, error) {
	runtime.GC()

	var err error

	b0, cpu0, start := sampleBusy(), processCPU(), time.Now()
	pprof.Do(ctx, pprof.Labels("run", name), func(context.Context) { err = f() })

	return measure{wall: time.Since(start), cpu: processCPU() - cpu0, others: othersCores(b0, sampleBusy())}, err
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // fails only for a bad "who"

	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// busy is a sample of how much CPU time the whole machine and this
// process with its children have used.
type busy struct {
	machine, ours time.Duration
	at            time.Time
	ok            bool // false when /proc/stat can't be read
}

// sampleBusy reads the machine's busy time from /proc/stat (all but idle
// and iowait) and the CPU time of this process and its waited-for
// children.
func sampleBusy() busy {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self) // fails only for a bad "who"
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)

	ours := self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano()
	ticks, ok := machineBusyTicks()

	return busy{machine: time.Duration(ticks) * time.Second / clockTicks, ours: time.Duration(ours), at: time.Now(), ok: ok}
}

// machineBusyTicks sums /proc/stat's first line: user nice system idle
// iowait irq softirq steal, without idle and iowait (guest and
// guest_nice follow; user and nice already count them).
func machineBusyTicks() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}

	line, _, _ := strings.Cut(string(b), "\n")

	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}

	var ticks int64

	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}

		if i != 3 && i != 4 {
			ticks += n
		}
	}

	return ticks, true
}

// othersCores is how many cores other processes kept busy on average
// between two samples: what may have slowed the benchmark. It is -1 when
// a sample failed.
func othersCores(from, to busy) float64 {
	if !from.ok || !to.ok {
		return -1
	}

	others := (to.machine - from.machine) - (to.ours - from.ours)

	return max(0, others.Seconds()/to.at.Sub(from.at).Seconds())
}
