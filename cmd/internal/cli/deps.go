package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
)

// ExitCodesHelp documents the snapflow exit codes in help texts, of the
// snapflow binary and of the lint and plan commands wherever they run.
const ExitCodesHelp = `Exit codes:
  0  ok
  1  errors found: blueprint compile errors, bad params, failed evaluations
  2  usage or I/O error: bad flags or arguments, missing or unreadable files`

// Deps are what the snapflow commands share: built once by the root
// command's caller and passed to every subcommand.
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

// Findings ends a command with ExitFindings after it printed the details.
func Findings() error { return &ExitError{Code: ExitFindings} }

// Options is a subcommand's Complete, Validate, Run lifecycle, as in
// kubectl's commands.
type Options interface {
	Complete(args []string) error
	Validate() error
	Run() error
}

// RunE runs an Options lifecycle as a cobra RunE.
func RunE(o Options) func(*cobra.Command, []string) error {
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

// FileError words a file system error as "path: reason".
func FileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}
