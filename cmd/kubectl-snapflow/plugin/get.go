package plugin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const getLong = `List ActionSets, or show one, as a table: name, blueprint, action, state,
the phase running now, percent done and age.

` + exitCodesHelp

const getExample = `  # List the ActionSets in the current namespace
  kubectl snapflow get

  # Show one, or list every namespace's
  kubectl snapflow get basic-app-backup-x7k2p -n shop
  kubectl snapflow get -A`

// GetOptions are the inputs of kubectl snapflow get.
type GetOptions struct {
	cli.IOStreams
	deps          Deps
	Name          string
	AllNamespaces bool
	c             clients
}

// NewCmdGet builds kubectl snapflow get.
func NewCmdGet(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &GetOptions{IOStreams: streams, deps: deps}
	cmd := &cobra.Command{
		Use:               "get [NAME]",
		Short:             "List ActionSets with their state and progress",
		Long:              getLong,
		Example:           getExample,
		Args:              cli.UsageArgs(cobra.MaximumNArgs(1)),
		ValidArgsFunction: completeActionSets(deps.Factory),
		RunE:              runE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "list the ActionSets of every namespace")
	return cmd
}

// Complete takes the optional name and resolves the namespace.
func (o *GetOptions) Complete(args []string) error {
	if len(args) == 1 {
		var err error
		if o.Name, err = parseActionSetRef(args[0]); err != nil {
			return cli.Usagef("%w", err)
		}
	}
	var err error
	o.c, err = newClients(o.deps.Factory)
	return err
}

// Validate checks that a name and --all-namespaces are not both given.
func (o *GetOptions) Validate() error {
	if o.Name != "" && o.AllNamespaces {
		return cli.Usagef("a NAME cannot be combined with --all-namespaces")
	}
	return nil
}

// Run reads the ActionSets and prints the table.
func (o *GetOptions) Run(ctx context.Context) error {
	var items []v1alpha1.ActionSet
	if o.Name != "" {
		as, err := o.c.getActionSet(ctx, o.Name)
		if err != nil {
			return err
		}
		items = append(items, *as)
	} else {
		ns := o.c.namespace
		if o.AllNamespaces {
			ns = metav1.NamespaceAll
		}
		list, err := o.c.actionSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list actionsets: %w", err)
		}
		for i := range list.Items {
			as, err := fromUnstructured(&list.Items[i])
			if err != nil {
				return err
			}
			items = append(items, *as)
		}
	}
	if len(items) == 0 {
		if o.AllNamespaces {
			fmt.Fprintln(o.ErrOut, "No actionsets found.")
		} else {
			fmt.Fprintf(o.ErrOut, "No actionsets found in namespace %s.\n", o.c.namespace)
		}
		return nil
	}
	slices.SortFunc(items, func(a, b v1alpha1.ActionSet) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return printActionSets(o.Out, items, o.AllNamespaces, o.deps.Clock.Now())
}

// printActionSets prints the get table.
func printActionSets(w io.Writer, items []v1alpha1.ActionSet, withNamespace bool, now time.Time) error {
	tw := newTable(w)
	head := "NAME\tBLUEPRINT\tACTION\tSTATE\tPHASE\tPROGRESS\tAGE"
	if withNamespace {
		head = "NAMESPACE\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, as := range items {
		if withNamespace {
			fmt.Fprintf(tw, "%s\t", as.Namespace)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\n", as.Name, as.Spec.Blueprint.Name, as.Spec.Action,
			orDash(string(as.Status.State)), orDash(as.Status.CurrentPhase), as.Status.Progress.Percent,
			age(as.CreationTimestamp, now))
	}
	return tw.Flush()
}

// newTable is a tabwriter laid out as kubectl's tables.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// age is how long ago t was, as kubectl prints it: 5m, 3h2m, 4d.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
