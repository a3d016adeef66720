package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/tests/csidriver"
	"github.com/snapflow/snapflow/tests/localarm"
	"github.com/snapflow/snapflow/tests/processnode"
)

// version is reported by the CSI driver (the sidecars exit on an empty one).
const version = "v0.1.0"

func newCSIDriver() *cobra.Command {
	var cfg csidriver.Config
	var endpoint string
	var az csiAzureFlags
	cmd := &cobra.Command{
		Use:   "csi-driver",
		Short: "Serve the project's directory-backed test CSI driver",
		Long: `csi-driver serves the project's test CSI driver: volumes are directories.
With --personality azure-disk it behaves like the Azure Disk CSI driver on
the Azure Resource Manager at --arm-endpoint (tests/localarm): volumes are
also managed disks and snapshots are incremental snapshots whose ARM IDs are
the handles. Its service principal comes from the environment, never from
flags: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and
AZURE_AUTHORITY_HOST (https).`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Version = version
			var err error
			if cfg.AzureDisk, err = az.config(); err != nil {
				return err
			}
			return csidriver.Run(cmd.Context(), cfg, endpoint)
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "", "unix:///path/to/csi.sock")
	f.StringVar(&cfg.Name, "name", "csi.snapflow.dev", "CSI driver name")
	f.StringVar(&cfg.NodeID, "node-id", "", "node name")
	f.StringVar(&cfg.DataDir, "data-dir", "", "where volumes and snapshots live")
	f.StringVar(&az.personality, "personality", "directory", "directory, or azure-disk: volumes and snapshots are also managed disks and snapshots in --arm-endpoint")
	f.StringVar(&az.endpoint, "arm-endpoint", "", "azure-disk: the Azure Resource Manager URL, e.g. the local ARM's")
	f.StringVar(&az.caFile, "arm-ca-file", "", "azure-disk: PEM file of certificate authorities to trust, besides the system's, for --arm-endpoint and AZURE_AUTHORITY_HOST")
	f.StringVar(&az.subscription, "subscription", "", "azure-disk: subscription ID of the disks and snapshots")
	f.StringVar(&az.resourceGroup, "resource-group", "", "azure-disk: resource group the driver creates disks and snapshots in")
	f.StringVar(&az.region, "region", "", "azure-disk: the cluster's region, e.g. eastus")
	return cmd
}

// csiAzureFlags are the csi-driver flags of the azure-disk personality.
type csiAzureFlags struct {
	personality, endpoint, caFile, subscription, resourceGroup, region string
}

// config is the azure-disk personality's configuration, nil for the
// directory personality.
func (f csiAzureFlags) config() (*csidriver.AzureDiskConfig, error) {
	switch f.personality {
	case "directory":
		return nil, nil
	case "azure-disk":
	default:
		return nil, fmt.Errorf("--personality %q: want directory or azure-disk", f.personality)
	}
	var missing []string
	for _, fl := range []struct{ name, v string }{{"--arm-endpoint", f.endpoint}, {"--subscription", f.subscription},
		{"--resource-group", f.resourceGroup}, {"--region", f.region}} {
		if fl.v == "" {
			missing = append(missing, fl.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--personality azure-disk needs %s", strings.Join(missing, ", "))
	}
	c := function.AzureCloud{
		ResourceManager: f.endpoint, Audience: "https://management.core.windows.net/",
		AuthorityHost: os.Getenv("AZURE_AUTHORITY_HOST"), AllowHTTP: strings.HasPrefix(f.endpoint, "http://"),
	}
	if f.caFile != "" {
		var err error
		if c.HTTPClient, err = cli.HTTPClientTrusting(f.caFile); err != nil {
			return nil, fmt.Errorf("--arm-ca-file: %w", err)
		}
	}
	cred, err := csidriver.EnvironmentCredential(c)
	if err != nil {
		return nil, err
	}
	return &csidriver.AzureDiskConfig{
		Cloud: c, Credential: cred, Subscription: f.subscription, ResourceGroup: f.resourceGroup, Region: f.region,
		Data: &localarm.DataClient{Base: f.endpoint, HTTP: c.HTTPClient, Token: csidriver.ARMToken(cred, c.Audience)},
	}, nil
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
