package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/tests/cluster"
	"github.com/snapflow/snapflow/tests/csidriver"
	"github.com/snapflow/snapflow/tests/processnode"
)

const containerInitCmd = processnode.ContainerInitCommand

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "snapflow-local",
		Short: "A real local Kubernetes from plain processes, for tests and the demo",
		Long: `snapflow-local starts a real Kubernetes on 127.0.0.1 without Docker:
etcd, kube-apiserver, kube-controller-manager and kube-scheduler; the CSI
snapshot stack (the project's directory-backed CSI driver, external-provisioner,
snapshot-controller, csi-snapshotter); a node that runs pods as host processes
(the image is ignored: a container's command must exist on this host); and
Azurite with two storage accounts, eastus and westus.

The binaries come from tests/cluster/tools/build.sh (make cluster-tools),
cached in $SNAPFLOW_CACHE (default ~/.cache/snapflow).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newUp(), newDown(), newEnv(), newCSIStats(), newLocation(), newCSIDriver(), newNode())
	return root
}

// defaultDir is where `up` keeps a developer's cluster.
func defaultDir() string {
	if d := os.Getenv("SNAPFLOW_CLUSTER_DIR"); d != "" {
		return d
	}
	return filepath.Join(cluster.CacheDir(), "cluster")
}

func newUp() *cobra.Command {
	var dir, repo string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local cluster in the background",
		Example: `  snapflow-local up
  eval "$(snapflow-local env)"
  kubectl get nodes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bins, err := cluster.FindBinaries(cluster.CacheDir())
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			c, err := cluster.Start(cmd.Context(), cluster.Options{
				Dir: dir, Binaries: bins, LocalExe: self, Detached: true, Progress: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster up in %s\nexport KUBECONFIG=%s\n", c.Dir, c.Kubeconfig)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory: certificates, data, logs, PID files")
	cmd.Flags().StringVar(&repo, "repo", ".", "unused; kept for make")
	_ = cmd.Flags().MarkHidden("repo")
	return cmd
}

func newDown() *cobra.Command {
	var dir string
	var purge bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster started by up",
		Long:  "down stops every component recorded in the state directory's PID files (never by name), node first.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cluster.Down(dir); err != nil {
				return err
			}
			if purge {
				return os.RemoveAll(dir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the state directory")
	return cmd
}

func newEnv() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:     "env",
		Short:   "Print the shell exports for the running cluster",
		Example: `  eval "$(snapflow-local env)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := cluster.Load(dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", info.Kubeconfig)
			fmt.Fprintf(out, "export SNAPFLOW_AZURITE_ENDPOINT=%s\n", info.AzuriteEndpoint)
			fmt.Fprintf(out, "export SNAPFLOW_CSI_DATA_DIR=%s\n", info.CSIDataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	return cmd
}

func newCSIStats() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "csi-stats",
		Short: "Print what the local CSI driver has copied, as JSON",
		Long: `csi-stats prints the test CSI driver's stats.json: bytesCopied is the total
copied by restores and clones that are full copies (read-only clones of a
snapshot are shallow and copy nothing); perVolume is the same per volume.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := cluster.Load(dir)
			if err != nil {
				return err
			}
			stats, err := csidriver.ReadStats(info.CSIDataDir)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(stats)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	return cmd
}
