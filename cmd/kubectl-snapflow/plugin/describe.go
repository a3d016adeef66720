package plugin

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const describeLong = `Describe an ActionSet: what it runs (blueprint, action, object,
Location, params, input artifacts), its state and progress, a table of its
phases (stage, state, attempts, duration, message), the restore point it
produced (artifacts), the Kubernetes objects it captured or recreated, by
kind, and its conditions.

` + exitCodesHelp

const describeExample = `  # Describe a backup
  kubectl snapflow describe basic-app-backup-x7k2p -n shop`

// DescribeOptions are the inputs of kubectl snapflow describe.
type DescribeOptions struct {
	cli.IOStreams
	deps Deps
	Name string
	c    clients
}

// NewCmdDescribe builds kubectl snapflow describe.
func NewCmdDescribe(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &DescribeOptions{IOStreams: streams, deps: deps}
	return &cobra.Command{
		Use:               "describe NAME",
		Short:             "Show an ActionSet's spec, phases, artifacts and conditions",
		Long:              describeLong,
		Example:           describeExample,
		Args:              cli.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeActionSets(deps.Factory),
		RunE:              runE(o),
	}
}

// Complete takes the name and resolves the namespace.
func (o *DescribeOptions) Complete(args []string) error {
	var err error
	if o.Name, err = parseActionSetRef(args[0]); err != nil {
		return cli.Usagef("%w", err)
	}
	o.c, err = newClients(o.deps.Factory)
	return err
}

// Validate has nothing to check.
func (o *DescribeOptions) Validate() error { return nil }

// Run reads the ActionSet and prints it.
func (o *DescribeOptions) Run(ctx context.Context) error {
	as, err := o.c.getActionSet(ctx, o.Name)
	if err != nil {
		return err
	}
	return describeActionSet(o.Out, as, o.deps.Clock.Now())
}

// describeActionSet prints the description of as, durations of running
// phases counted up to now.
func describeActionSet(w io.Writer, as *v1alpha1.ActionSet, now time.Time) error {
	tw := newTable(w)
	field := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	field("Name", as.Name)
	field("Namespace", as.Namespace)
	bp := as.Spec.Blueprint.Name
	if as.Spec.Blueprint.Namespace != "" {
		bp = as.Spec.Blueprint.Namespace + "/" + bp
	}
	field("Blueprint", bp)
	field("Action", as.Spec.Action)
	field("Object", objectString(as.Spec.Object))
	if as.Spec.Location != nil {
		field("Location", as.Spec.Location.Name)
	}
	if len(as.Spec.Params) > 0 {
		names := slices.Sorted(maps.Keys(as.Spec.Params))
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + "=" + formatParam(as.Spec.Params[n])
		}
		field("Params", strings.Join(parts, " "))
	}
	if a := as.Spec.Artifacts; a != nil {
		if a.FromActionSet != "" {
			field("Input artifacts", "from actionset "+a.FromActionSet)
		} else {
			field("Input artifacts", fmt.Sprintf("inline (%d)", len(a.Inline)))
		}
	}
	if as.Spec.Cancel {
		field("Cancel", "requested")
	}
	field("State", orDash(string(as.Status.State)))
	if as.Status.CurrentPhase != "" {
		field("Current phase", as.Status.CurrentPhase)
	}
	field("Progress", progressText(as.Status.Progress))
	if t := as.Status.StartTime; t != nil {
		field("Started", t.UTC().Format(time.RFC3339))
	}
	if t := as.Status.CompletionTime; t != nil {
		field("Completed", t.UTC().Format(time.RFC3339))
	}
	if as.Status.Message != "" {
		field("Message", as.Status.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "Phases:")
	if len(as.Status.Phases) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "  PHASE\tSTAGE\tSTATE\tATTEMPTS\tDURATION\tMESSAGE")
		for _, p := range as.Status.Phases {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Name, p.Stage, p.State, p.Attempts,
				phaseDuration(p, now), oneLine(p.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "Artifacts:")
	if len(as.Status.Artifacts) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		tw = newTable(w)
		for _, n := range slices.Sorted(maps.Keys(as.Status.Artifacts)) {
			fmt.Fprintf(tw, "  %s:\t%s\n", n, formatParam(as.Status.Artifacts[n]))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if err := describeObjects(w, as); err != nil {
		return err
	}

	fmt.Fprintln(w, "Conditions:")
	if len(as.Status.Conditions) == 0 {
		fmt.Fprintln(w, "  <none>")
		return nil
	}
	tw = newTable(w)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
	for _, c := range as.Status.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, age(c.LastTransitionTime, now), oneLine(c.Message))
	}
	return tw.Flush()
}

// objectString is "Deployment/app (apps/v1) in shop".
func objectString(o v1alpha1.ObjectReference) string {
	s := o.Kind + "/" + o.Name
	if o.APIVersion != "" {
		s += " (" + o.APIVersion + ")"
	}
	if o.Namespace != "" {
		s += " in " + o.Namespace
	}
	return s
}

// phaseDuration is how long a phase ran, or has run so far; "-" if it has
// not started.
func phaseDuration(p v1alpha1.PhaseStatus, now time.Time) string {
	if p.StartTime == nil {
		return "-"
	}
	end := now
	if p.EndTime != nil {
		end = p.EndTime.Time
	}
	return duration.HumanDuration(end.Sub(p.StartTime.Time))
}

// oneLine keeps a message on one table row.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}
