package functions

import (
	"context"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/function"
)

// Log records a message as the phase's status message and passes it on as
// an output. Use it to leave a trace in the ActionSet (which database was
// frozen, which restore point was picked) without a container.
func Log() function.Function {
	return function.Typed[LogArgs, LogOutputs]{Sig: logSignature, Run: runLog}
}

var logSignature = function.Signature{
	Name: "log",
	Doc:  "Records a message in the phase's status and returns it as an output.",
	Args: []function.Arg{
		{Name: "message", Type: cel.StringType, Required: true, Doc: "text to record; ${{ }} interpolates values"},
	},
	Outputs: []function.Output{
		{Name: "message", Type: cel.StringType, Doc: "the recorded text"},
	},
}

// LogArgs are log's arguments.
type LogArgs struct {
	Message string `json:"message"`
}

// LogOutputs are log's outputs.
type LogOutputs struct {
	Message string `json:"message"`
}

func runLog(_ context.Context, rt *function.Runtime, in LogArgs) (LogOutputs, error) {
	rt.Message(in.Message)
	return LogOutputs(in), nil
}
