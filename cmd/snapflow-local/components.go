package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/tests/csidriver"
	"github.com/snapflow/snapflow/tests/processnode"
)

// version is reported by the CSI driver (the sidecars exit on an empty one).
const version = "v0.1.0"

func newCSIDriver() *cobra.Command {
	var cfg csidriver.Config
	var endpoint string
	cmd := &cobra.Command{
		Use:    "csi-driver",
		Short:  "Serve the project's directory-backed test CSI driver",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Version = version
			return csidriver.Run(cmd.Context(), cfg, endpoint)
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "", "unix:///path/to/csi.sock")
	f.StringVar(&cfg.Name, "name", "csi.snapflow.dev", "CSI driver name")
	f.StringVar(&cfg.NodeID, "node-id", "", "node name")
	f.StringVar(&cfg.DataDir, "data-dir", "", "where volumes and snapshots live")
	return cmd
}

func newNode() *cobra.Command {
	var cfg processnode.Config
	cmd := &cobra.Command{
		Use:    "node",
		Short:  "Run the node that runs pods as host processes",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.SelfExe = self
			return processnode.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.NodeName, "name", "", "node name")
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig for the apiserver")
	f.StringVar(&cfg.StateDir, "state-dir", "", "per-pod state: volumes, secrets, logs")
	f.StringVar(&cfg.ListenAddr, "listen", "127.0.0.1:10250", "kubelet API address (TLS)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "kubelet API serving certificate")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "kubelet API serving key")
	f.StringVar(&cfg.APIServerHost, "apiserver-host", "127.0.0.1", "KUBERNETES_SERVICE_HOST for containers")
	f.IntVar(&cfg.APIServerPort, "apiserver-port", 6443, "KUBERNETES_SERVICE_PORT for containers")
	f.StringVar(&cfg.CAFile, "ca-file", "", "cluster CA, mounted as ca.crt for service accounts")
	f.StringVar(&cfg.CSIDriverName, "csi-driver", "csi.snapflow.dev", "CSI driver the node publishes volumes with")
	f.StringVar(&cfg.CSIEndpoint, "csi-endpoint", "", "unix:// endpoint of the CSI driver")
	return cmd
}

// containerInit is the first thing a container process runs, inside its own
// mount namespace.
func containerInit(args []string) error { return processnode.ContainerInit(args) }
