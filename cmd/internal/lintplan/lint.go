package lintplan

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/diag"
)

const lintLong = `Compile blueprint files and report every error, without a cluster.

Each FILE is linted whatever its contents. Each DIR is walked recursively
(skipping hidden directories), and every .yaml or .yml file in it whose
top-level kind is Blueprint is linted; other YAML (ActionSets, Deployments,
...) is skipped.

Diagnostics go to standard output, one per line, sorted by position:

  file:line:col: path: message
  file:line:col: warning: path: message

A summary goes to standard error. Warnings alone do not fail the command.

` + cli.ExitCodesHelp

const lintExample = `  # Lint one blueprint
  snapflow lint blueprints/postgres/blueprint.yaml

  # Lint every blueprint under a directory, as CI does
  snapflow lint blueprints/`

// LintOptions are the inputs of snapflow lint.
type LintOptions struct {
	cli.IOStreams
	deps  cli.Deps
	Paths []string
}

// NewCmdLint builds snapflow lint.
func NewCmdLint(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	o := &LintOptions{IOStreams: streams, deps: deps}
	return &cobra.Command{
		Use:     "lint FILE|DIR...",
		Short:   "Compile blueprints and report every error",
		Long:    lintLong,
		Example: lintExample,
		Args:    cli.UsageArgs(cobra.ArbitraryArgs),
		RunE:    cli.RunE(o),
	}
}

// Complete takes the paths from the arguments.
func (o *LintOptions) Complete(args []string) error {
	o.Paths = args
	return nil
}

// Validate checks that there is something to lint.
func (o *LintOptions) Validate() error {
	if len(o.Paths) == 0 {
		return cli.Usagef("name at least one blueprint file or directory")
	}
	return nil
}

// Run lints every blueprint file and prints diagnostics and a summary.
func (o *LintOptions) Run() error {
	files, err := blueprintFiles(o.Paths)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: err}
	}
	var errs, warns, bad int
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return &cli.ExitError{Code: cli.ExitUsage, Err: cli.FileError(file, err)}
		}
		_, ds := o.deps.Compiler.File(file, data)
		printDiagnostics(o.Out, ds)
		e, w := count(ds)
		errs, warns = errs+e, warns+w
		if e > 0 {
			bad++
		}
	}
	fmt.Fprintln(o.ErrOut, lintSummary(errs, warns, bad, len(files)))
	if errs > 0 {
		return cli.Findings()
	}
	return nil
}

// printDiagnostics prints one diagnostic per line.
func printDiagnostics(w io.Writer, ds diag.Diagnostics) {
	for _, d := range ds {
		fmt.Fprintln(w, d.String())
	}
}

// count tells the errors and warnings apart.
func count(ds diag.Diagnostics) (errs, warns int) {
	for _, d := range ds {
		if d.Severity == diag.Warning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

// lintSummary is "2 errors in 1 of 3 files", or "ok: 3 blueprints".
func lintSummary(errs, warns, bad, files int) string {
	var b strings.Builder
	if errs > 0 {
		fmt.Fprintf(&b, "%s in %d of %s", plural(errs, "error"), bad, plural(files, "file"))
	} else {
		fmt.Fprintf(&b, "ok: %s", plural(files, "blueprint"))
	}
	if warns > 0 {
		fmt.Fprintf(&b, " (%s)", plural(warns, "warning"))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
