package plugin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

const logsLong = `Show what happened to an ActionSet: the Kubernetes Events the controller
recorded on it (phase started, succeeded, failed, retried, ...), oldest
first, one per line.

The logs of the pods that move data for a phase are not shown yet; they
will be in a later version. Until then, read them with kubectl logs.

` + exitCodesHelp

const logsExample = `  # Show the events of a backup
  kubectl snapflow logs basic-app-backup-x7k2p -n shop`

// LogsOptions are the inputs of kubectl snapflow logs.
type LogsOptions struct {
	cli.IOStreams
	deps Deps
	Name string
	c    clients
}

// NewCmdLogs builds kubectl snapflow logs.
func NewCmdLogs(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &LogsOptions{IOStreams: streams, deps: deps}
	return &cobra.Command{
		Use:               "logs NAME",
		Short:             "Show an ActionSet's events (mover pod logs come later)",
		Long:              logsLong,
		Example:           logsExample,
		Args:              cli.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeActionSets(deps.Factory),
		RunE:              runE(o),
	}
}

// Complete takes the name and resolves the namespace.
func (o *LogsOptions) Complete(args []string) error {
	var err error
	if o.Name, err = parseActionSetRef(args[0]); err != nil {
		return cli.Usagef("%w", err)
	}
	o.c, err = newClients(o.deps.Factory)
	return err
}

// Validate has nothing to check.
func (o *LogsOptions) Validate() error { return nil }

// Run lists the events and prints them oldest first.
func (o *LogsOptions) Run(ctx context.Context) error {
	as, err := o.c.getActionSet(ctx, o.Name)
	if err != nil {
		return err
	}
	events, err := actionSetEvents(ctx, o.c, as.Namespace, as.Name, string(as.UID))
	if err != nil {
		return err
	}
	if len(events) == 0 {
		fmt.Fprintf(o.ErrOut, "No events for actionset %s.\n", as.Name)
		return nil
	}
	return printEvents(o.Out, events)
}

// actionSetEvents lists the events about one ActionSet, oldest first.
func actionSetEvents(ctx context.Context, c clients, namespace, name, uid string) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.kind": "ActionSet", "involvedObject.name": name}.AsSelector().String()
	list, err := c.dyn.Resource(eventsGVR).Namespace(namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list events of actionset %s: %w", name, err)
	}
	var events []corev1.Event
	for _, u := range list.Items {
		var ev corev1.Event
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ev); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", u.GetName(), err)
		}
		ref := ev.InvolvedObject
		if ref.Kind != "ActionSet" || ref.Name != name || (uid != "" && ref.UID != "" && string(ref.UID) != uid) {
			continue // a server that ignores field selectors, or an earlier ActionSet of that name
		}
		events = append(events, ev)
	}
	slices.SortStableFunc(events, func(a, b corev1.Event) int {
		return eventTime(a).Compare(eventTime(b))
	})
	return events, nil
}

// eventTime is when an event last happened.
func eventTime(ev corev1.Event) time.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.FirstTimestamp.IsZero():
		return ev.FirstTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// printEvents prints "TIME  TYPE  REASON  MESSAGE" lines.
func printEvents(w io.Writer, events []corev1.Event) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "TIME\tTYPE\tREASON\tMESSAGE")
	for _, ev := range events {
		msg := strings.TrimSpace(ev.Message)
		if ev.Count > 1 {
			msg += fmt.Sprintf(" (x%d)", ev.Count)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", eventTime(ev).UTC().Format(time.RFC3339), ev.Type, ev.Reason, msg)
	}
	return tw.Flush()
}
