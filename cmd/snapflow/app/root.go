package app

import (
	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/internal/lintplan"
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

` + cli.ExitCodesHelp

// NewCmdRoot builds the snapflow command and its subcommands.
func NewCmdRoot(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	root := cli.SetupRoot(&cobra.Command{
		Use:   "snapflow",
		Short: "Compile, check and explain snapflow data protection blueprints",
		Long:  rootLong,
	}, streams)
	root.AddCommand(
		lintplan.NewCmdLint(deps, streams),
		lintplan.NewCmdPlan(deps, streams),
		NewCmdFunctions(deps, streams),
		NewCmdSchema(deps, streams),
		NewCmdController(deps, streams),
		NewCmdMover(deps, streams),
	)
	return root
}
