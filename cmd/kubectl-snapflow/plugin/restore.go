package plugin

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const restoreLong = `Restore from a backup: create an ActionSet that runs an action (restore by
default) with the restore point of an earlier ActionSet, and print its name.

The new ActionSet takes its artifacts from the source ActionSet (which must
have succeeded) and, from its spec, the blueprint, the target object, the
Location and the params. --to-namespace restores into another namespace;
--location and --param override the source's. The new ActionSet is created
in the source's namespace (--namespace).

After losing the cluster or the backup's ActionSet, restore from a restore
point on a Location instead (see 'kubectl snapflow restorepoints'):
--location L --restore-point ID. The restore point gives the blueprint,
the object and the artifacts; the data comes from the Location, so when
the blueprint declares a restoreFrom param (the library's do) it is set
to "export" unless --param sets it. The blueprint must exist in the
namespace. The restore point is read from this machine: ` + "`" + `kubectl snapflow
restorepoints --help` + "`" + ` says what that needs.

--wait follows the ActionSet as 'kubectl snapflow backup --wait' does.

` + exitCodesHelp

const restoreExample = `  # Restore what a backup saved, in place
  kubectl snapflow restore --from actionset/basic-app-backup-x7k2p

  # Restore into another namespace and wait for it
  kubectl snapflow restore --from actionset/db-backup-q8d4z -n shop \
    --to-namespace shop-copy --wait

  # After losing everything: restore from a restore point on a Location
  kubectl snapflow restorepoints --location offsite -n snapflow
  kubectl snapflow restore --location offsite --restore-point 3f2a... -n snapflow --wait`

// RestoreOptions are the inputs of kubectl snapflow restore.
type RestoreOptions struct {
	cli.IOStreams
	deps Deps

	From         string
	RestorePoint string
	Action       string
	ToNamespace  string
	Location     string
	Params       []string
	Wait         bool
	Timeout      time.Duration

	c      clients
	source string
	params map[string]apiextensionsv1.JSON
}

// NewCmdRestore builds kubectl snapflow restore.
func NewCmdRestore(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &RestoreOptions{IOStreams: streams, deps: deps, Action: "restore", Timeout: 30 * time.Minute}
	cmd := &cobra.Command{
		Use:     "restore (--from actionset/NAME | --location L --restore-point ID)",
		Short:   "Create an ActionSet that restores from an earlier ActionSet's artifacts or a Location's restore point",
		Long:    restoreLong,
		Example: restoreExample,
		Args:    cli.UsageArgs(cobra.NoArgs),
		RunE:    runE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "the ActionSet whose artifacts to restore, as actionset/NAME")
	f.StringVar(&o.RestorePoint, "restore-point", "", "instead of --from: the ID of a restore point on --location")
	f.StringVarP(&o.Action, "action", "a", o.Action, "the blueprint action to run")
	f.StringVar(&o.ToNamespace, "to-namespace", "", "restore into this namespace instead of the source object's")
	f.StringVar(&o.Location, "location", "", "the Location to read from; default the source ActionSet's; required with --restore-point")
	f.StringArrayVarP(&o.Params, "param", "p", nil, "set a param as name=value, value in YAML; repeatable; overrides the source's")
	addWaitFlags(cmd, &o.Wait, &o.Timeout)
	_ = cmd.RegisterFlagCompletionFunc("from", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		names, dir := completeActionSets(deps.Factory)(cmd, nil, "")
		for i, n := range names {
			names[i] = "actionset/" + n
		}
		return names, dir
	})
	return cmd
}

// Complete resolves the namespace and reads --from and the params.
func (o *RestoreOptions) Complete([]string) error {
	var err error
	if o.From != "" {
		if o.source, err = parseActionSetRef(o.From); err != nil {
			return cli.Usagef("%w", fmt.Errorf("--from: %w", err))
		}
	}
	if o.params, err = parseParams(o.Params); err != nil {
		return cli.Usagef("%w", err)
	}
	o.c, err = newClients(o.deps.Factory)
	return err
}

// Validate checks the flags.
func (o *RestoreOptions) Validate() error {
	switch {
	case o.From == "" && o.RestorePoint == "":
		return cli.Usagef("--from or --restore-point is required: the ActionSet to restore from, as actionset/NAME, or a restore point on --location")
	case o.From != "" && o.RestorePoint != "":
		return cli.Usagef("--from and --restore-point exclude each other")
	case o.RestorePoint != "" && o.Location == "":
		return cli.Usagef("--restore-point needs --location: the Location that holds it")
	case o.Action == "":
		return cli.Usagef("--action must not be empty")
	case o.Timeout < 0:
		return cli.Usagef("--timeout must not be negative")
	}
	return nil
}

// Run reads the source ActionSet, creates the restore ActionSet and, with
// --wait, follows it.
func (o *RestoreOptions) Run(ctx context.Context) error {
	if o.RestorePoint != "" {
		return o.runFromRestorePoint(ctx)
	}
	src, err := o.c.getActionSet(ctx, o.source)
	if err != nil {
		return err
	}
	if src.Status.State != v1alpha1.ActionSetSucceeded {
		state := src.Status.State
		if state == "" {
			state = v1alpha1.ActionSetPending
		}
		return failed(fmt.Errorf("actionset %s is %s: restore needs one that succeeded", src.Name, state))
	}
	as := restoreActionSet(src, o.Action, o.ToNamespace, o.Location, o.params)
	return createAndWait(ctx, o.c, as, o.deps, o.IOStreams, o.Wait, o.Timeout)
}

// restoreActionSet is the ActionSet that runs action with src's restore
// point against src's object (in toNamespace, if set).
func restoreActionSet(src *v1alpha1.ActionSet, action, toNamespace, location string, params map[string]apiextensionsv1.JSON) *v1alpha1.ActionSet {
	spec := v1alpha1.ActionSetSpec{
		Blueprint: src.Spec.Blueprint,
		Action:    action,
		Object:    src.Spec.Object,
		Location:  src.Spec.Location,
		Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: src.Name},
	}
	if toNamespace != "" {
		spec.Object.Namespace = toNamespace
	}
	if location != "" {
		spec.Location = &v1alpha1.LocalObjectReference{Name: location}
	}
	if len(src.Spec.Params)+len(params) > 0 {
		spec.Params = maps.Clone(src.Spec.Params)
		if spec.Params == nil {
			spec.Params = map[string]apiextensionsv1.JSON{}
		}
		maps.Copy(spec.Params, params)
	}
	return &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: fmt.Sprintf("%s-%s-", spec.Object.Name, action),
			Namespace:    src.Namespace,
		},
		Spec: spec,
	}
}
