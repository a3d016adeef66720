// Package app is the snapflow command line: the root command and one file
// per subcommand (lint, plan, functions, schema). Each subcommand has an
// Options type with Complete, Validate and Run, in the style of
// kubernetes/sample-cli-plugin. Streams, the function registry, the
// compiler and the clock are injected, so tests run commands in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions"
)

// Exit codes of the snapflow binary. They are documented in the root
// command's help.
const (
	// ExitOK means the command did what was asked and found nothing wrong.
	ExitOK = 0
	// ExitFindings means the blueprint or its inputs are wrong (compile errors,
	// bad params, an expression that fails to evaluate).
	ExitFindings = 1
	// ExitUsage means the command could not do its job (bad flags or arguments,
	// a file that is missing or unreadable).
	ExitUsage = 2
)

// exitCodesHelp documents the exit codes in help texts.
const exitCodesHelp = `Exit codes:
  0  ok
  1  errors found: blueprint compile errors, bad params, failed evaluations
  2  usage or I/O error: bad flags or arguments, missing or unreadable files`

// IOStreams are the standard streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Deps are what commands share: built once by the root command's caller
// and passed to every subcommand.
type Deps struct {
	Registry *function.Registry
	Compiler *compile.Compiler
	Clock    clock.PassiveClock
}

// NewDeps builds the compiler for reg.
func NewDeps(reg *function.Registry, clk clock.PassiveClock) (Deps, error) {
	c, err := compile.New(reg)
	if err != nil {
		return Deps{}, fmt.Errorf("build compiler: %w", err)
	}
	return Deps{Registry: reg, Compiler: c, Clock: clk}, nil
}

// ExitError ends a command with an exit code. A nil Err means the command
// has already reported what went wrong.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// findings ends a command with ExitFindings after it printed the details.
func findings() error { return &ExitError{Code: ExitFindings} }

// UsageError marks a mistake in how the command was called.
type UsageError struct{ err error }

func (e *UsageError) Error() string { return e.err.Error() }
func (e *UsageError) Unwrap() error { return e.err }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{err: fmt.Errorf(format, args...)}
}

// Main runs the snapflow binary with the builtin functions and returns its
// exit code.
func Main(ctx context.Context, args []string, streams IOStreams) int {
	reg, err := functions.Builtins()
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: function registry: %v\n", err)
		return ExitUsage
	}
	deps, err := NewDeps(reg, clock.RealClock{})
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return ExitUsage
	}
	return Run(ctx, NewCmdRoot(deps, streams), args, streams.ErrOut)
}

// Run executes root with args, reports an error on errOut and returns the
// exit code.
func Run(ctx context.Context, root *cobra.Command, args []string, errOut io.Writer) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(errOut, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(errOut, "error: %v\n", err)
	var usage *UsageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(errOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ExitUsage
}

// options is a subcommand's Complete, Validate, Run lifecycle, as in
// kubectl's commands.
type options interface {
	Complete(args []string) error
	Validate() error
	Run() error
}

// runE runs an options lifecycle as a cobra RunE.
func runE(o options) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run()
	}
}
