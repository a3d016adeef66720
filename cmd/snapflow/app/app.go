// Package app is the snapflow command line: the root command and one file
// per subcommand (functions, schema, controller, mover; lint and plan live
// in cmd/internal/lintplan, shared with kubectl-snapflow). Each subcommand has an
// Options type with Complete, Validate and Run, in the style of
// kubernetes/sample-cli-plugin. Streams, the function registry, the
// compiler and the clock are injected, so tests run commands in-process.
package app

import (
	"context"
	"fmt"

	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions"
)

// Main runs the snapflow binary with the builtin functions and returns its
// exit code.
func Main(ctx context.Context, args []string, streams cli.IOStreams) int {
	reg, err := functions.Builtins()
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: function registry: %v\n", err)
		return cli.ExitUsage
	}
	deps, err := cli.NewDeps(reg, clock.RealClock{})
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return cli.ExitUsage
	}
	return cli.Run(ctx, NewCmdRoot(deps, streams), args, streams.ErrOut)
}
