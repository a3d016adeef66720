package functions

import (
	"context"
	"fmt"
	"time"

	"github.com/google/cel-go/cel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
)

// Sleep waits for a duration, or until the action is cancelled or the phase
// times out. Use it to let replication settle or a cache flush before a
// snapshot.
func Sleep() function.Function {
	return function.Typed[SleepArgs, SleepOutputs]{Sig: sleepSignature, Run: runSleep}
}

var sleepSignature = function.Signature{
	Name: "sleep",
	Doc:  "Waits for a duration; cancelling the action or the phase timeout ends the wait early with an error.",
	Args: []function.Arg{
		{Name: "duration", Type: cel.DurationType, Required: true, Doc: `how long to wait, e.g. "30s" or duration("1m")`},
	},
	Outputs: []function.Output{
		{Name: "slept", Type: cel.DurationType, Doc: "how long the wait lasted"},
	},
}

// SleepArgs are sleep's arguments.
type SleepArgs struct {
	Duration metav1.Duration `json:"duration"`
}

// SleepOutputs are sleep's outputs.
type SleepOutputs struct {
	Slept string `json:"slept"`
}

func runSleep(ctx context.Context, rt *function.Runtime, in SleepArgs) (SleepOutputs, error) {
	if in.Duration.Duration < 0 {
		return SleepOutputs{}, function.Permanent(fmt.Errorf("duration must not be negative, got %s", in.Duration.Duration))
	}
	start := rt.Clock.Now()
	select {
	case <-rt.Clock.After(in.Duration.Duration):
		return SleepOutputs{Slept: rt.Clock.Since(start).String()}, nil
	case <-ctx.Done():
		return SleepOutputs{}, fmt.Errorf("sleep interrupted after %s: %w", rt.Clock.Since(start).Round(time.Millisecond), context.Cause(ctx))
	}
}
