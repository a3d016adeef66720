package functions

import (
	"context"
	"errors"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/function"
)

// Fail stops the action with a message. Combined with when, it turns a
// precondition into a clear failure: when: "size(workload.pvcs) == 0".
func Fail() function.Function {
	return function.Typed[FailArgs, struct{}]{Sig: failSignature, Run: runFail}
}

var failSignature = function.Signature{
	Name: "fail",
	Doc:  "Fails the action with a message; it is never retried.",
	Args: []function.Arg{
		{Name: "message", Type: cel.StringType, Required: true, Doc: "why the action fails"},
	},
}

// FailArgs are fail's arguments.
type FailArgs struct {
	Message string `json:"message"`
}

func runFail(_ context.Context, _ *function.Runtime, in FailArgs) (struct{}, error) {
	return struct{}{}, function.Permanent(errors.New(in.Message))
}
