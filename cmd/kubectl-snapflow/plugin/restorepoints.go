package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions"
	"github.com/snapflow/snapflow/functions/kopia/repository"
)

const restorePointsLong = `List the restore points stored on a Location, newest first.

Every export writes one next to its data: the blueprint, the action, the
object, the artifacts and the kopia snapshot of each volume. They outlive
the cluster: after losing everything, create the Location and its Secrets
again (in any cluster), list the restore points, and restore one with
'kubectl snapflow restore --location L --restore-point ID'.

` + locationHelp

const restorePointsExample = `  # What can be restored from the Location "offsite" of namespace shop?
  kubectl snapflow restorepoints --location offsite -n shop

  # The same as JSON, with the artifacts
  kubectl snapflow restorepoints --location offsite -n shop -o json`

// RestorePointsOptions are the inputs of kubectl snapflow restorepoints.
type RestorePointsOptions struct {
	cli.IOStreams
	locationCommand

	Output string
}

// NewCmdRestorePoints builds kubectl snapflow restorepoints.
func NewCmdRestorePoints(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &RestorePointsOptions{IOStreams: streams, locationCommand: locationCommand{deps: deps}}
	cmd := &cobra.Command{
		Use:     "restorepoints --location NAME",
		Aliases: []string{"restorepoint", "rp"},
		Short:   "List the restore points stored on a Location",
		Long:    restorePointsLong,
		Example: restorePointsExample,
		Args:    cli.UsageArgs(cobra.NoArgs),
		RunE:    runE(o),
	}
	cmd.Flags().StringVar(&o.Location, "location", "", "the Location to read (required)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: empty for a table, or json")
	return cmd
}

// Validate checks the flags.
func (o *RestorePointsOptions) Validate() error {
	switch {
	case o.Location == "":
		return cli.Usagef("--location is required: the Location whose restore points to list")
	case o.Output != "" && o.Output != "json":
		return cli.Usagef("--output %q: want json or nothing", o.Output)
	}
	return nil
}

// Run lists the restore points.
func (o *RestorePointsOptions) Run(ctx context.Context) error {
	l, rps, err := o.restorePoints(ctx)
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	if o.Output == "json" {
		return printRestorePointsJSON(o.Out, rps)
	}
	if len(rps) == 0 {
		fmt.Fprintf(o.ErrOut, "No restore points on Location %s.\n", o.Location)
		return nil
	}
	return printRestorePoints(o.Out, rps, o.deps.Clock.Now())
}

// printRestorePoints prints one line per restore point.
func printRestorePoints(w io.Writer, rps []repository.RestorePoint, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTIME\tAGE\tBLUEPRINT\tACTION\tNAMESPACE\tOBJECT\tVOLUMES")
	for _, rp := range rps {
		vols := restorePointVolumes(rp)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rp.ID, rp.Time.Format(time.RFC3339), age(metav1.NewTime(rp.Time), now),
			orDash(rp.Blueprint), orDash(rp.Action), orDash(rp.Object.Namespace), rp.Object.Kind+"/"+rp.Object.Name, orDash(strings.Join(vols, ",")))
	}
	return tw.Flush()
}

// restorePointVolumes are the claims rp exported, then "+objects" when
// it also holds the application's objects (backupResources).
func restorePointVolumes(rp repository.RestorePoint) []string {
	var vols []string
	objects := false
	for _, k := range slices.Sorted(maps.Keys(rp.Snapshots)) {
		if strings.HasPrefix(k, functions.BundleSnapshotPrefix) {
			objects = true
			continue
		}
		vols = append(vols, k)
	}
	if objects {
		vols = append(vols, "+objects")
	}
	return vols
}

// restorePointJSON is a restore point as -o json prints it: with its ID,
// which the stored form keeps out of the payload.
type restorePointJSON struct {
	ID string `json:"id"`
	repository.RestorePoint
}

func printRestorePointsJSON(w io.Writer, rps []repository.RestorePoint) error {
	out := make([]restorePointJSON, 0, len(rps))
	for _, rp := range rps {
		out = append(out, restorePointJSON{ID: rp.ID, RestorePoint: rp})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
