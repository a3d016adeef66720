package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

With --name and --region, up starts one cluster of a DR pair instead: it
shares one Azurite and one local Azure Resource Manager (started on first
use, in $SNAPFLOW_SHARED_DIR, default ~/.cache/snapflow/shared) with the
other, and its CSI driver is the azure-disk personality (disk.csi.azure.com,
StorageClass managed-csi).

The binaries come from tests/cluster/tools/build.sh (make cluster-tools),
cached in $SNAPFLOW_CACHE (default ~/.cache/snapflow).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newUp(), newDown(), newEnv(), newCSIStats(), newLocation(), newCSIDriver(), newNode(), newARM())
	return root
}

// defaultDir is where `up` keeps a developer's cluster.
func defaultDir() string {
	if d := os.Getenv("SNAPFLOW_CLUSTER_DIR"); d != "" {
		return d
	}
	return filepath.Join(cluster.CacheDir(), "cluster")
}

// sharedDir is where `up --name` keeps the DR pair's shared services.
func sharedDir() string {
	if d := os.Getenv("SNAPFLOW_SHARED_DIR"); d != "" {
		return d
	}
	return filepath.Join(cluster.CacheDir(), "shared")
}

// clusterDir is --dir when given, else the named cluster's
// (~/.cache/snapflow/cluster-NAME), else the default.
func clusterDir(cmd *cobra.Command, dir, name string) (string, error) {
	if name == "" || cmd.Flags().Changed("dir") {
		return dir, nil
	}
	if err := cluster.ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(cluster.CacheDir(), "cluster-"+name), nil
}

func newUp() *cobra.Command {
	var dir, repo, name, region string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local cluster in the background",
		Example: `  snapflow-local up
  eval "$(snapflow-local env)"
  kubectl get nodes

  # a DR pair sharing Azurite and a local Azure Resource Manager
  snapflow-local up --name east --region eastus
  snapflow-local up --name west --region westus
  eval "$(snapflow-local env --name west)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := upOptions(cmd, dir, name, region)
			if err != nil {
				return err
			}
			c, err := cluster.Start(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster up in %s\nexport KUBECONFIG=%s\n", c.Dir, c.Kubeconfig)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory: certificates, data, logs, PID files")
	cmd.Flags().StringVar(&name, "name", "", "start the named cluster of a DR pair (e.g. east), in ~/.cache/snapflow/cluster-NAME")
	cmd.Flags().StringVar(&region, "region", "", "the named cluster's region: eastus or westus (required with --name)")
	cmd.Flags().StringVar(&repo, "repo", ".", "unused; kept for make")
	_ = cmd.Flags().MarkHidden("repo")
	return cmd
}

// upOptions are Start's options for up's flags; with --name it first
// starts the shared services unless they run.
func upOptions(cmd *cobra.Command, dir, name, region string) (cluster.Options, error) {
	bins, err := cluster.FindBinaries(cluster.CacheDir())
	if err != nil {
		return cluster.Options{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return cluster.Options{}, err
	}
	o := cluster.Options{Binaries: bins, LocalExe: self, Detached: true, Progress: cmd.ErrOrStderr(), Name: name, Region: region}
	if o.Dir, err = clusterDir(cmd, dir, name); err != nil {
		return o, err
	}
	if (name == "") != (region == "") {
		return o, fmt.Errorf("--name and --region go together (e.g. --name east --region eastus)")
	}
	if name == "" {
		return o, nil
	}
	if !slices.Contains(cluster.AzuriteAccounts, region) {
		return o, fmt.Errorf("--region %q: want one of %s", region, strings.Join(cluster.AzuriteAccounts, ", "))
	}
	sh, err := cluster.EnsureShared(cmd.Context(), cluster.SharedOptions{
		Dir: sharedDir(), Binaries: bins, LocalExe: self, Detached: true, Progress: cmd.ErrOrStderr(),
	})
	if err != nil {
		return o, fmt.Errorf("shared services: %w", err)
	}
	o.Shared = &sh
	return o, nil
}

func newDown() *cobra.Command {
	var dir, name string
	var purge, shared bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster started by up",
		Long: `down stops every component recorded in the state directory's PID files (never by name), node first.
--shared stops the DR pair's shared services (Azurite and the local ARM,
whose disks and snapshots, held in memory, are then lost); alone it leaves
every cluster running.`,
		Example: `  snapflow-local down --name east
  snapflow-local down --name west --shared`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !shared || name != "" || cmd.Flags().Changed("dir") {
				d, err := clusterDir(cmd, dir, name)
				if err != nil {
					return err
				}
				if err := stopDir(d, purge, cluster.Down); err != nil {
					return err
				}
			}
			if shared {
				return stopDir(sharedDir(), purge, cluster.DownShared)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	cmd.Flags().StringVar(&name, "name", "", "stop the named cluster (~/.cache/snapflow/cluster-NAME)")
	cmd.Flags().BoolVar(&shared, "shared", false, "stop the shared services ($SNAPFLOW_SHARED_DIR, default ~/.cache/snapflow/shared)")
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the state directory")
	return cmd
}

// stopDir stops what dir's PID files record and, with purge, deletes dir.
func stopDir(dir string, purge bool, down func(string) error) error {
	if err := down(dir); err != nil {
		return fmt.Errorf("stop %s: %w", dir, err)
	}
	if purge {
		return os.RemoveAll(dir)
	}
	return nil
}

func newEnv() *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the shell exports for the running cluster",
		Example: `  eval "$(snapflow-local env)"
  eval "$(snapflow-local env --name east)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := clusterDir(cmd, dir, name)
			if err != nil {
				return err
			}
			info, err := cluster.Load(d)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "export KUBECONFIG=%s\n", info.Kubeconfig)
			fmt.Fprintf(out, "export SNAPFLOW_AZURITE_ENDPOINT=%s\n", info.AzuriteEndpoint)
			fmt.Fprintf(out, "export SNAPFLOW_CSI_DATA_DIR=%s\n", info.CSIDataDir)
			if info.ARMURL != "" {
				fmt.Fprintf(out, "export SNAPFLOW_ARM_URL=%s\n", info.ARMURL)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	cmd.Flags().StringVar(&name, "name", "", "the named cluster (~/.cache/snapflow/cluster-NAME)")
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
