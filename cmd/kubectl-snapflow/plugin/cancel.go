package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

const cancelLong = `Cancel a run: set spec.cancel on the ActionSet.

The controller stops the running phase, runs the finally phases and pending
cleanups, then sets the state to Cancelled. Cancelling an ActionSet that has
finished changes nothing.

` + exitCodesHelp

const cancelExample = `  # Cancel a backup
  kubectl snapflow cancel basic-app-backup-x7k2p -n shop`

// cancelPatch is the merge patch that asks the controller to stop.
const cancelPatch = `{"spec":{"cancel":true}}`

// CancelOptions are the inputs of kubectl snapflow cancel.
type CancelOptions struct {
	cli.IOStreams
	deps Deps
	Name string
	c    clients
}

// NewCmdCancel builds kubectl snapflow cancel.
func NewCmdCancel(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &CancelOptions{IOStreams: streams, deps: deps}
	return &cobra.Command{
		Use:               "cancel NAME",
		Short:             "Ask the controller to stop an ActionSet",
		Long:              cancelLong,
		Example:           cancelExample,
		Args:              cli.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeActionSets(deps.Factory),
		RunE:              runE(o),
	}
}

// Complete takes the name and resolves the namespace.
func (o *CancelOptions) Complete(args []string) error {
	var err error
	if o.Name, err = parseActionSetRef(args[0]); err != nil {
		return cli.Usagef("%w", err)
	}
	o.c, err = newClients(o.deps.Factory)
	return err
}

// Validate has nothing to check.
func (o *CancelOptions) Validate() error { return nil }

// Run patches spec.cancel.
func (o *CancelOptions) Run(ctx context.Context) error {
	_, err := o.c.actionSets(o.c.namespace).Patch(ctx, o.Name, types.MergePatchType, []byte(cancelPatch), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("cancel actionset %s: %w", o.Name, err)
	}
	fmt.Fprintf(o.Out, "actionset/%s cancel requested\n", o.Name)
	return nil
}
