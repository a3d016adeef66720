package functions

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/engine/function"
)

func testRuntime(c clock.Clock) (*function.Runtime, *string) {
	var msg string
	return &function.Runtime{Message: func(m string) { msg = m }, Clock: c, Progress: function.NoProgress{}, Cleanup: func(context.Context, string) error { return nil }}, &msg
}

func TestLogSetsMessage(t *testing.T) {
	rt, msg := testRuntime(clock.RealClock{})
	out, err := Log().Invoke(context.Background(), rt, map[string]any{"message": "frozen db-0"})
	if err != nil {
		t.Fatal(err)
	}
	if *msg != "frozen db-0" || out["message"] != "frozen db-0" {
		t.Errorf("message %q, outputs %v", *msg, out)
	}
}

func TestFailIsPermanent(t *testing.T) {
	rt, _ := testRuntime(clock.RealClock{})
	_, err := Fail().Invoke(context.Background(), rt, map[string]any{"message": "no PVCs to back up"})
	if !function.IsPermanent(err) || err.Error() != "no PVCs to back up" {
		t.Fatalf("err = %v", err)
	}
}

// TestSleepWaitsOnTheClock uses a fake clock, so the test controls time.
func TestSleepWaitsOnTheClock(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Unix(0, 0))
	rt, _ := testRuntime(fc)
	done := make(chan map[string]any)
	go func() {
		out, _ := Sleep().Invoke(context.Background(), rt, map[string]any{"duration": "90s"})
		done <- out
	}()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return fc.HasWaiters(), nil })
	if err != nil {
		t.Fatal("sleep never waited on the clock")
	}
	fc.Step(90 * time.Second)
	if out := <-done; out["slept"] != "1m30s" {
		t.Errorf("outputs = %v", out)
	}
}

func TestSleepStopsOnCancel(t *testing.T) {
	rt, _ := testRuntime(clocktesting.NewFakeClock(time.Unix(0, 0)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Sleep().Invoke(ctx, rt, map[string]any{"duration": "1h"})
	if err == nil || !strings.Contains(err.Error(), "sleep interrupted") {
		t.Fatalf("err = %v", err)
	}
}

// TestBuiltinsLiveInTheirOwnFile checks the layout NewRegistry cannot: every
// built-in is defined in functions/<name>.go, so a reader finds it by name.
func TestBuiltinsLiveInTheirOwnFile(t *testing.T) {
	reg, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range reg.Names() {
		file := strings.ToLower(name) + ".go"
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("function %q: %v", name, err)
			continue
		}
		if !strings.Contains(string(src), "Name: \""+name+"\"") {
			t.Errorf("function %q: %s does not declare its signature", name, file)
		}
	}
}
