package app

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

const rootLong = `snapflow is a Kubernetes-native workflow engine for data protection.

Application owners write Blueprints: declarative YAML that says, for one kind
of application, how to back it up and restore it. An action (backup,
restore, ...) is an ordered list of phases; each phase calls a registered
function with arguments written as CEL expressions, ${{ like.this }}. An
ActionSet asks the controller to run one action of one blueprint against one
workload, and the controller records progress and the resulting restore
point in the ActionSet's status.

Unlike engines that render templates phase by phase, snapflow compiles a
whole blueprint before anything runs: every expression is type-checked, every
argument checked against its function's signature, and every phases.X.Y
reference checked against phase X's outputs. The commands below do that
offline, with no cluster: lint reports every error with file:line:col, plan
shows what an action would run for a given workload, functions documents
what phases can call, and schema lets editors check blueprints as you type.

` + exitCodesHelp

// NewCmdRoot builds the snapflow command and its subcommands.
func NewCmdRoot(deps Deps, streams IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "snapflow",
		Short:         "Compile, check and explain snapflow data protection blueprints",
		Long:          rootLong,
		Args:          UnknownCommand,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &UsageError{err: err}
	})
	root.AddCommand(
		NewCmdLint(deps, streams),
		NewCmdPlan(deps, streams),
		NewCmdFunctions(deps, streams),
		NewCmdSchema(deps, streams),
		NewCmdController(deps, streams),
		NewCmdMover(deps, streams),
	)
	return root
}

// UnknownCommand rejects arguments to the root command: they name a
// command that does not exist.
func UnknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return &UsageError{err: errors.New(msg)}
}

// usageArgs marks what an argument validator rejects as a usage error.
func UsageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{err: err}
		}
		return nil
	}
}
