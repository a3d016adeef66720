package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions/kopia/repository"
)

const retentionLong = `Apply retention to a Location: keep the newest --keep restore points of
each source, blueprint, action and object, delete the older ones with the
kopia snapshots only they list, delete the snapshots no restore point lists
(what failed or retried exports left) once they are a day old, then run
kopia's full maintenance.

Maintenance keeps kopia's safety margins: data becomes garbage a day after
the last snapshot using it is deleted and its storage is freed by a later
run, so an export running now is never damaged. Run retention regularly,
for example from a CronJob. --unsafe-maintenance drops those margins and
frees the storage at once; use it only when nothing else writes to the
Location.

Retention touches only the Location: an expired restore point that lists
DR copies (crossRegionCopy's Azure snapshots) is kept and named, since
deleting it would leave its copies unlisted; the blueprint's delete action
retires it with them. Local VolumeSnapshots are retired by
the blueprint's delete action ('kubectl snapflow restore --from
actionset/NAME --action delete'), which also deletes that backup's exports.

` + locationHelp

const retentionExample = `  # Keep the last 7 restore points of every application on "offsite"
  kubectl snapflow retention --location offsite --keep 7 -n shop

  # Show what would be deleted
  kubectl snapflow retention --location offsite --keep 7 -n shop --dry-run`

// RetentionOptions are the inputs of kubectl snapflow retention.
type RetentionOptions struct {
	cli.IOStreams
	locationCommand

	Keep   int
	DryRun bool
	Unsafe bool
}

// NewCmdRetention builds kubectl snapflow retention.
func NewCmdRetention(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &RetentionOptions{IOStreams: streams, locationCommand: locationCommand{deps: deps}}
	cmd := &cobra.Command{
		Use:     "retention --location NAME --keep N",
		Short:   "Keep the newest N restore points on a Location and run kopia maintenance",
		Long:    retentionLong,
		Example: retentionExample,
		Args:    cli.UsageArgs(cobra.NoArgs),
		RunE:    runE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.Location, "location", "", "the Location to apply retention to (required)")
	f.IntVar(&o.Keep, "keep", 0, "how many restore points to keep per blueprint, action and object (required, at least 1)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print what would be deleted; delete nothing and skip maintenance")
	f.BoolVar(&o.Unsafe, "unsafe-maintenance", false, "free storage at once, without kopia's safety margins; only when nothing else writes to the Location")
	return cmd
}

// Validate checks the flags.
func (o *RetentionOptions) Validate() error {
	switch {
	case o.Location == "":
		return cli.Usagef("--location is required: the Location to apply retention to")
	case o.Keep < 1:
		return cli.Usagef("--keep must be at least 1, got %d: retention never deletes every restore point", o.Keep)
	}
	return nil
}

// orphans deletes the snapshots no restore point lists, a day after they
// were made: what failed and retried exports left.
func (o *RetentionOptions) orphans(ctx context.Context, l *locationRepository, verb string) error {
	ids, err := repository.Orphans(ctx, l.rep, repository.OrphanGrace)
	if err != nil {
		return fmt.Errorf("Location %s: %w", o.Location, err)
	}
	if len(ids) > 0 && !o.DryRun {
		if _, err := repository.ForgetSnapshots(ctx, l.rep, ids); err != nil {
			return fmt.Errorf("Location %s: %w", o.Location, err)
		}
	}
	fmt.Fprintf(o.Out, "Location %s: %s %d snapshots no restore point lists (older than %s)\n", o.Location, verb, len(ids), repository.OrphanGrace)
	return nil
}

// Run deletes the expired restore points and runs maintenance.
func (o *RetentionOptions) Run(ctx context.Context) error {
	l, rps, err := o.restorePoints(ctx)
	if err != nil {
		return err
	}
	defer l.Close(context.WithoutCancel(ctx))
	expired, held := withoutDRCopies(repository.Expired(rps, o.Keep))
	verb := "deleted"
	if o.DryRun {
		verb = "would delete"
	}
	for _, rp := range held {
		fmt.Fprintf(o.Out, "kept restore point %s: %s %s of %s lists %d DR copies (Azure snapshots) that retention cannot delete; retire it with the blueprint's delete action\n",
			rp.ID, rp.Blueprint, objectString(rp.Object), rp.Time.Format(time.RFC3339), drCopyCount(rp))
	}
	for _, rp := range expired {
		if !o.DryRun {
			if err := repository.DeleteRestorePoint(ctx, l.rep, rp.ID); err != nil {
				return fmt.Errorf("Location %s: %w", o.Location, err)
			}
		}
		fmt.Fprintf(o.Out, "%s restore point %s: %s %s of %s\n", verb, rp.ID, rp.Blueprint, objectString(rp.Object), rp.Time.Format(time.RFC3339))
	}
	fmt.Fprintf(o.Out, "Location %s: %d restore points, %s %d, kept %d\n", o.Location, len(rps), verb, len(expired), len(rps)-len(expired))

	if err := o.orphans(ctx, l, verb); err != nil {
		return err
	}
	if o.DryRun {
		return nil
	}
	if err := repository.Maintain(ctx, l.rep, o.Unsafe); err != nil {
		return fmt.Errorf("Location %s: %w", o.Location, err)
	}
	fmt.Fprintf(o.Out, "Location %s: kopia maintenance done\n", o.Location)
	return nil
}

// withoutDRCopies splits expired restore points into those retention may
// delete and those listing DR copies, which only the delete action can.
func withoutDRCopies(expired []repository.RestorePoint) (deletable, held []repository.RestorePoint) {
	for _, rp := range expired {
		if drCopyCount(rp) > 0 {
			held = append(held, rp)
		} else {
			deletable = append(deletable, rp)
		}
	}
	return deletable, held
}

// drCopyCount is how many DR copies rp lists.
func drCopyCount(rp repository.RestorePoint) int {
	copies, _ := rp.Artifacts["drCopies"].([]any)
	return len(copies)
}
