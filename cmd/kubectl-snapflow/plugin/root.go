package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/internal/lintplan"
	"github.com/snapflow/snapflow/functions"
)

// Exit codes of kubectl snapflow, as for snapflow itself.
const (
	// ExitOK means the command did what was asked; with --wait, the
	// ActionSet succeeded.
	ExitOK = cli.ExitOK
	// ExitFailed means the ActionSet failed, was cancelled or did not finish
	// within --timeout (with --wait), or lint/plan found errors.
	ExitFailed = cli.ExitFindings
	// ExitUsage means the command could not do its job: bad flags or
	// arguments, or an error talking to the cluster.
	ExitUsage = cli.ExitUsage
)

const exitCodesHelp = `Exit codes:
  0  ok; with --wait, the ActionSet succeeded
  1  the ActionSet failed, was cancelled or timed out (--wait); lint/plan found errors
  2  usage error, or an error talking to the cluster`

const rootLong = `kubectl snapflow runs and inspects snapflow actions on a cluster.

snapflow is a Kubernetes-native workflow engine for data protection. A
Blueprint says how to back up and restore one kind of application; an
ActionSet asks the snapflow controller to run one action of a blueprint
against one workload. This plugin creates ActionSets (backup, restore),
follows them (get, describe, logs, --wait), cancels them, lists and retires
the restore points stored on Locations (restorepoints, retention), and
compiles blueprints offline (lint, plan).

Installed on PATH as kubectl-snapflow, kubectl runs it as 'kubectl snapflow'.
The usual kubectl flags (--kubeconfig, --context, --namespace, ...) choose
the cluster and namespace.

` + exitCodesHelp

const rootExample = `  # Back up a deployment with the basic-app blueprint and wait for it
  kubectl snapflow backup deploy/basic-app --blueprint basic-app --location s3 --wait

  # Follow the runs in a namespace
  kubectl snapflow get -n shop
  kubectl snapflow describe basic-app-backup-x7k2p -n shop

  # Restore from that backup
  kubectl snapflow restore --from actionset/basic-app-backup-x7k2p -n shop --wait`

// Deps are what the commands share, built once by the caller of NewCmdRoot.
type Deps struct {
	// Factory gives the namespace and the cluster client.
	Factory Factory
	// ConfigFlags, when set, are registered as the root's persistent flags
	// (--kubeconfig, --context, --namespace, ...). Factory should read them.
	ConfigFlags *genericclioptions.ConfigFlags
	// App holds the registry and compiler lint and plan use.
	App cli.Deps
	// Clock tells ages and durations.
	Clock clock.PassiveClock
	// IsTerminal tells whether w is a terminal, for the live progress line.
	IsTerminal func(w io.Writer) bool
}

// Main runs kubectl-snapflow with the builtin functions and a Factory
// reading kubectl's flags, and returns the exit code.
func Main(ctx context.Context, args []string, streams cli.IOStreams) int {
	reg, err := functions.Builtins()
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: function registry: %v\n", err)
		return ExitUsage
	}
	appDeps, err := cli.NewDeps(reg, clock.RealClock{})
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return ExitUsage
	}
	flags := genericclioptions.NewConfigFlags(true)
	deps := Deps{
		Factory:     NewFactory(flags),
		ConfigFlags: flags,
		App:         appDeps,
		Clock:       clock.RealClock{},
		IsTerminal:  isTerminal,
	}
	return Run(ctx, NewCmdRoot(deps, streams), args, streams.ErrOut)
}

// isTerminal tells whether w is a terminal file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewCmdRoot builds kubectl-snapflow and its subcommands.
func NewCmdRoot(deps Deps, streams cli.IOStreams) *cobra.Command {
	root := cli.SetupRoot(&cobra.Command{
		Use:         "kubectl-snapflow",
		Short:       "Run and inspect snapflow backups and restores on a cluster",
		Long:        rootLong,
		Example:     rootExample,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl snapflow"},
	}, streams)
	if deps.ConfigFlags != nil {
		deps.ConfigFlags.AddFlags(root.PersistentFlags())
	}
	if deps.Clock == nil {
		deps.Clock = clock.RealClock{}
	}
	if deps.IsTerminal == nil {
		deps.IsTerminal = func(io.Writer) bool { return false }
	}
	root.AddCommand(
		NewCmdBackup(deps, streams),
		NewCmdRestore(deps, streams),
		NewCmdRestorePoints(deps, streams),
		NewCmdRetention(deps, streams),
		NewCmdGet(deps, streams),
		NewCmdDescribe(deps, streams),
		NewCmdLogs(deps, streams),
		NewCmdCancel(deps, streams),
		NewCmdRBAC(deps, streams),
		offline(lintplan.NewCmdLint(deps.App, streams)),
		offline(lintplan.NewCmdPlan(deps.App, streams)),
	)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = completionExample
		for _, sh := range c.Commands() {
			sh.Example = fmt.Sprintf("  # Load completion for kubectl-snapflow into the current %[1]s shell\n  kubectl-snapflow completion %[1]s", sh.Name())
			if sh.Name() != "powershell" {
				sh.Example = fmt.Sprintf("  # Load completion for kubectl-snapflow into the current %[1]s shell\n  source <(kubectl-snapflow completion %[1]s)", sh.Name())
			}
		}
	}
	return root
}

const completionExample = `  # kubectl completes plugin commands through a kubectl_complete-snapflow
  # executable on PATH; make one that asks this plugin:
  cat > /usr/local/bin/kubectl_complete-snapflow <<'SH'
  #!/bin/sh
  kubectl-snapflow __complete "$@"
  SH
  chmod +x /usr/local/bin/kubectl_complete-snapflow

  # Or load completion for kubectl-snapflow itself in bash
  source <(kubectl-snapflow completion bash)`

// offline adapts a snapflow command (lint, plan) to the plugin: its
// examples say kubectl snapflow, and the cluster flags do not apply.
func offline(cmd *cobra.Command) *cobra.Command {
	cmd.Example = strings.ReplaceAll(cmd.Example, "  snapflow ", "  kubectl snapflow ")
	cmd.Long += "\n\nThis command works offline: the cluster flags are ignored."
	return cmd
}

// Run executes root with args, reports an error on errOut and returns the
// exit code, exactly as the snapflow CLI does.
func Run(ctx context.Context, root *cobra.Command, args []string, errOut io.Writer) int {
	return cli.Run(ctx, root, args, errOut)
}

// failed ends a command with ExitFailed; a nil err means the details are
// already printed.
func failed(err error) error { return &cli.ExitError{Code: ExitFailed, Err: err} }

// options is a subcommand's Complete, Validate, Run lifecycle.
type options interface {
	Complete(args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runE runs an options lifecycle as a cobra RunE.
func runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
