package lintplan

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/plan"
)

const planLong = `Show what one action of a blueprint would run for a given workload, offline.

plan compiles the blueprint (printing its errors like lint does), binds the
params, normalizes the target object into the workload variable, and then,
for each phase in order (finally phases last), prints the function, whether
its when condition holds, its timeout and retry policy, and each argument's
value. Expressions that read earlier phases' outputs (phases.X.Y) cannot be
known before the action runs: plan prints them as written, marked "at run
time". Nothing is sent to a cluster.

The object is any Kubernetes object, as 'kubectl get -o yaml' prints it:
Pod, Deployment, StatefulSet, ReplicaSet, DaemonSet, Job, DeploymentConfig or
PersistentVolumeClaim. Offline, workload.pods holds only a bare Pod target
(controllers' pods exist only in the cluster), and claims named in the pod
template carry no storage class or size; the controller fills these in from
the cluster when the action really runs. StatefulSet claims come from its
volumeClaimTemplates, one per replica. A DaemonSet's replicas read 0: one
pod per eligible node is unknown offline.

--param name=value is read as YAML: 3 is an int, [a, b] a list, {k: v} a
map. For a param declared as string the text after = is taken as it is.
--param overrides --params-file. action.uid is all zeros and action.actionSet
is "plan".

` + cli.ExitCodesHelp

const planExample = `  # Show the backup action of a blueprint for a StatefulSet
  kubectl get statefulset db -o yaml > db.yaml
  snapflow plan blueprint.yaml --action backup --object db.yaml

  # Override params; a list is written as YAML flow
  snapflow plan blueprint.yaml --action backup --object db.yaml \
    --param freezeCommand='[fsfreeze, -f, /data]' --param retries=3

  # Plan a restore from the artifacts a backup produced, as JSON
  snapflow plan blueprint.yaml --action restore --object db.yaml \
    --artifacts artifacts.yaml --location location.yaml --output json`

// PlanOptions are the inputs of snapflow plan.
type PlanOptions struct {
	cli.IOStreams
	deps cli.Deps

	File          string
	Action        string
	ObjectFile    string
	Params        []string
	ParamsFile    string
	ArtifactsFile string
	LocationFile  string
	Output        string
}

// NewCmdPlan builds snapflow plan.
func NewCmdPlan(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	o := &PlanOptions{IOStreams: streams, deps: deps, Output: "text"}
	cmd := &cobra.Command{
		Use:     "plan FILE --action ACTION --object OBJECT.yaml",
		Short:   "Show what an action would run for a workload, offline",
		Long:    planLong,
		Example: planExample,
		Args:    cli.UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Action, "action", "a", "", "the action to plan (required)")
	f.StringVar(&o.ObjectFile, "object", "", "YAML or JSON file with the target Kubernetes object (required)")
	f.StringArrayVarP(&o.Params, "param", "p", nil, "set a param as name=value, value in YAML; repeatable")
	f.StringVar(&o.ParamsFile, "params-file", "", "YAML or JSON file with a mapping of params")
	f.StringVar(&o.ArtifactsFile, "artifacts", "", "YAML or JSON file with the input restore point (artifacts)")
	f.StringVar(&o.LocationFile, "location", "", "YAML file with a snapflow Location object (secrets are not read)")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: text or json")
	return cmd
}

// Complete takes the blueprint file from the arguments.
func (o *PlanOptions) Complete(args []string) error {
	o.File = args[0]
	return nil
}

// Validate checks the flags.
func (o *PlanOptions) Validate() error {
	switch {
	case o.Action == "":
		return cli.Usagef("--action is required")
	case o.ObjectFile == "":
		return cli.Usagef("--object is required: a file with the target object, e.g. from kubectl get -o yaml")
	case !slices.Contains([]string{"text", "json"}, o.Output):
		return cli.Usagef("--output must be text or json, got %q", o.Output)
	}
	return nil
}

// Run compiles the blueprint, reads the inputs, evaluates and prints.
func (o *PlanOptions) Run(ctx context.Context) error {
	data, err := os.ReadFile(o.File)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: cli.FileError(o.File, err)}
	}
	bp, ds := o.deps.Compiler.File(o.File, data)
	printDiagnostics(o.Out, ds)
	if ds.HasErrors() {
		errs, warns := count(ds)
		fmt.Fprintln(o.ErrOut, lintSummary(errs, warns, 1, 1))
		return cli.Findings()
	}
	action, ok := bp.Action(o.Action)
	if !ok {
		names := actionNames(bp)
		return cli.Usagef("blueprint %s has no action %q%s; it has %s", bp.Name, o.Action, diag.Suggest(o.Action, names), strings.Join(names, ", "))
	}
	in, err := o.inputs(bp, action)
	if err != nil {
		return err
	}
	rep := evaluate(ctx, bp, action, in)
	if err := o.print(rep); err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("write plan: %w", err)}
	}
	if rep.Errors > 0 {
		fmt.Fprintf(o.ErrOut, "%s evaluating action %s\n", plural(rep.Errors, "error"), action.Name)
		return cli.Findings()
	}
	return nil
}

func (o *PlanOptions) print(rep *planReport) error {
	if o.Output == "json" {
		return cli.WriteJSON(o.Out, rep)
	}
	return printPlan(o.Out, rep)
}

func actionNames(bp *plan.Blueprint) []string {
	names := make([]string, 0, len(bp.Actions))
	for n := range bp.Actions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
