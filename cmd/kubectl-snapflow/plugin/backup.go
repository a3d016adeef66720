package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const backupLong = `Back up a workload: create an ActionSet that runs an action (backup by
default) of a blueprint against TYPE/NAME, and print its name on standard
output.

TYPE is a kind as kubectl spells it: deployment (deploy), statefulset (sts),
daemonset (ds), replicaset (rs), job, pod (po), persistentvolumeclaim (pvc),
namespace (ns) or deploymentconfig (dc); kind.group (deployments.apps) works
too. The workload is in the namespace of the ActionSet (--namespace) unless
--workload-namespace names another. Keep ActionSets out of the namespace
they protect when the restore point must survive losing that namespace:
the restore point lives in the backup ActionSet's status.

--param name=value sets a blueprint param. The value is read as YAML, as
'snapflow plan' reads it: 3 is an int, true a bool, [a, b] a list, {k: v} a
map, anything else a string. The controller checks it against the param's
declared type.

With --wait, the command follows the ActionSet and shows its phase, percent
done and bytes moved on standard error, updated in place on a terminal and
one line per change otherwise. It exits 0 when the ActionSet succeeds and 1
when it fails or is cancelled, printing the failed phase and its message.

` + exitCodesHelp

const backupExample = `  # Back up a deployment with the basic-app blueprint to the s3 Location
  kubectl snapflow backup deploy/basic-app --blueprint basic-app --location s3

  # Keep the ActionSet (the restore point) in another namespace than the app
  kubectl snapflow backup deploy/basic-app -n snapflow-demo \
    --workload-namespace basic-app --blueprint csi-snapshot --wait

  # Set params (values are YAML) and wait for the result
  kubectl snapflow backup sts/db -n shop --blueprint postgres --location s3 \
    --param retries=3 --param 'tables=[orders, users]' --wait --timeout 1h`

// BackupOptions are the inputs of kubectl snapflow backup.
type BackupOptions struct {
	cli.IOStreams
	deps Deps

	Workload           string
	WorkloadNamespace  string
	Blueprint          string
	BlueprintNamespace string
	Action             string
	Location           string
	Params             []string
	Wait               bool
	Timeout            time.Duration

	c      clients
	object v1alpha1.ObjectReference
	params map[string]apiextensionsv1.JSON
}

// NewCmdBackup builds kubectl snapflow backup.
func NewCmdBackup(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &BackupOptions{IOStreams: streams, deps: deps, Action: "backup", Timeout: 30 * time.Minute}
	cmd := &cobra.Command{
		Use:     "backup TYPE/NAME --blueprint BLUEPRINT",
		Short:   "Create an ActionSet that backs up a workload",
		Long:    backupLong,
		Example: backupExample,
		Args:    cli.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.Blueprint, "blueprint", "", "the Blueprint that defines the action (required)")
	f.StringVar(&o.WorkloadNamespace, "workload-namespace", "", "namespace of the workload; default the ActionSet's")
	f.StringVar(&o.BlueprintNamespace, "blueprint-namespace", "", "namespace of the Blueprint; default the ActionSet's")
	f.StringVarP(&o.Action, "action", "a", o.Action, "the blueprint action to run")
	f.StringVar(&o.Location, "location", "", "the Location, in the ActionSet's namespace, to write to")
	f.StringArrayVarP(&o.Params, "param", "p", nil, "set a param as name=value, value in YAML; repeatable")
	addWaitFlags(cmd, &o.Wait, &o.Timeout)
	return cmd
}

// addWaitFlags adds --wait and --timeout.
func addWaitFlags(cmd *cobra.Command, wait *bool, timeout *time.Duration) {
	cmd.Flags().BoolVarP(wait, "wait", "w", false, "follow the ActionSet until it finishes; exit 1 if it fails")
	cmd.Flags().DurationVar(timeout, "timeout", *timeout, "with --wait, give up after this long (0 waits forever)")
}

// Complete reads the workload and params and resolves the namespace.
func (o *BackupOptions) Complete(args []string) error {
	o.Workload = args[0]
	var err error
	if o.c, err = newClients(o.deps.Factory); err != nil {
		return err
	}
	ns := o.c.namespace
	if o.WorkloadNamespace != "" {
		ns = o.WorkloadNamespace
	}
	if o.object, err = parseWorkload(o.Workload, ns); err != nil {
		return cli.Usagef("%w", err)
	}
	if o.params, err = parseParams(o.Params); err != nil {
		return cli.Usagef("%w", err)
	}
	return nil
}

// Validate checks the flags.
func (o *BackupOptions) Validate() error {
	switch {
	case o.Blueprint == "":
		return cli.Usagef("--blueprint is required")
	case o.Action == "":
		return cli.Usagef("--action must not be empty")
	case o.Timeout < 0:
		return cli.Usagef("--timeout must not be negative")
	}
	return nil
}

// Run creates the ActionSet, prints its name and, with --wait, follows it.
func (o *BackupOptions) Run(ctx context.Context) error {
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: fmt.Sprintf("%s-%s-", o.object.Name, o.Action),
			Namespace:    o.c.namespace,
		},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: o.Blueprint, Namespace: o.BlueprintNamespace},
			Action:    o.Action,
			Object:    o.object,
			Params:    o.params,
		},
	}
	if o.Location != "" {
		as.Spec.Location = &v1alpha1.LocalObjectReference{Name: o.Location}
	}
	return createAndWait(ctx, o.c, as, o.deps, o.IOStreams, o.Wait, o.Timeout)
}

// createAndWait creates as, prints its name and, if wait, follows it.
func createAndWait(ctx context.Context, c clients, as *v1alpha1.ActionSet, deps Deps, streams cli.IOStreams, wait bool, timeout time.Duration) error {
	created, err := c.createActionSet(ctx, as)
	if err != nil {
		return err
	}
	fmt.Fprintln(streams.Out, created.Name)
	if !wait {
		return nil
	}
	return waitFor(ctx, c, created.Name, streams.ErrOut, deps.IsTerminal(streams.ErrOut), timeout)
}
