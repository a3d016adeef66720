// Package cli holds what the snapflow and kubectl-snapflow command lines
// share: the standard streams, exit codes, usage errors, the root command's
// setup, the run loop that maps errors to exit codes, and YAML value parsing.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes shared by the snapflow binaries.
const (
	// ExitOK means the command did what was asked and found nothing wrong.
	ExitOK = 0
	// ExitFindings means the command found something wrong (compile errors,
	// bad params, a failed action).
	ExitFindings = 1
	// ExitUsage means the command could not do its job (bad flags or arguments,
	// a file that is missing or unreadable).
	ExitUsage = 2
)

// IOStreams are the standard streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
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

// UsageError marks a mistake in how the command was called.
type UsageError struct{ err error }

func (e *UsageError) Error() string { return e.err.Error() }
func (e *UsageError) Unwrap() error { return e.err }

// Usage marks err as a UsageError.
func Usage(err error) error { return &UsageError{err: err} }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{err: fmt.Errorf(format, args...)}
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

// SetupRoot makes root a root command: arguments name unknown commands, no
// arguments print help, errors are left to Run (no usage dump), flag errors
// are usage errors, and the command reads and writes streams.
func SetupRoot(root *cobra.Command, streams IOStreams) *cobra.Command {
	root.Args = unknownCommand
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		return cmd.Help()
	}
	root.SuggestionsMinimumDistance = 2
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &UsageError{err: err}
	})
	return root
}

// unknownCommand rejects arguments to the root command: they name a
// command that does not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return &UsageError{err: errors.New(msg)}
}

// UsageArgs marks what an argument validator rejects as a usage error.
func UsageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{err: err}
		}
		return nil
	}
}

// Exit runs main with the process's arguments and standard streams,
// cancelling its context on SIGINT or SIGTERM, and exits with its code.
func Exit(main func(ctx context.Context, args []string, streams IOStreams) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := main(ctx, os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
