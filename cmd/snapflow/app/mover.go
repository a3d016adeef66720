package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/functions/mover"
)

const moverLong = `Move a volume's data to or from a Location's kopia repository, or
record or forget what was moved.

This runs inside a mover pod that the export, restore and deleteSnapshots
functions create; you do not run it by hand. The pod mounts the volume at /data (read-only
for export) and gives the request in $SNAPFLOW_MOVER_REQUEST: the Location
(no secrets), the source identity, and for restore the kopia snapshot.
The repository password and the store's credentials come only from the
environment (SNAPFLOW_REPOSITORY_PASSWORD, AZURE_STORAGE_ACCOUNT,
AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or <NAME>_FILE naming a mounted
file), never from flags.

export writes an incremental, deduplicated, encrypted kopia snapshot of
/data; restore writes a snapshot into /data and reads it back to verify;
record stores a restore point; forget deletes snapshots and the restore
points that list them.
Standard output carries one JSON object per line: {"progress": ...} while
it works, then {"result": ...} or {"error": "..."}.`

// NewCmdMover builds snapflow mover.
func NewCmdMover(_ cli.Deps, streams cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "mover export|restore|record|forget",
		Short:  "Move a volume's data to or from a Location (runs in mover pods)",
		Long:   moverLong,
		Hidden: true, // started by the export and restore functions
		Args:   cli.UsageArgs(cobra.NoArgs),
		RunE:   func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, mode := range mover.Modes {
		cmd.AddCommand(&cobra.Command{
			Use:   mode,
			Short: fmt.Sprintf("Run the %s described by $%s", mode, mover.RequestEnv),
			Args:  cli.UsageArgs(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runMover(cmd.Context(), mode, streams)
			},
		})
	}
	return cmd
}

func runMover(ctx context.Context, mode string, streams cli.IOStreams) error {
	req, err := mover.RequestFromEnv()
	if err != nil {
		return cli.Usage(err)
	}
	creds, err := repository.CredentialsFromEnv()
	if err != nil {
		return cli.Usage(err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := mover.Run(ctx, mode, req, creds, streams.Out); err != nil {
		return &cli.ExitError{Code: cli.ExitFindings, Err: err}
	}
	return nil
}
