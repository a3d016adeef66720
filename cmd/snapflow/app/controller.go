package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/controller"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/run"
)

const controllerLong = `Run the ActionSet controller.

The controller watches ActionSets, compiles their blueprints (marking each
Blueprint Valid or not, with every error), resolves the target workload, its
pods and claims, the Location and the input artifacts, and runs the action:
phases in order, finally phases and cleanups always. It checkpoints every
phase into the ActionSet's status, so a restarted controller resumes where
the last one stopped, and emits an Event per phase. Set spec.cancel: true,
or delete the ActionSet, to cancel a run; its finally phases still run.

Every call a run makes to the cluster impersonates a ServiceAccount in the
ActionSet's namespace: spec.serviceAccountName, or --default-service-account.
So an ActionSet can do only what that account may; the controller's own role
covers only its kinds, Events, Leases and impersonation (deploy/rbac.yaml).
` + "`kubectl snapflow rbac`" + ` prints the Role a namespace's runs need.

Without --kubeconfig the controller uses the in-cluster configuration of
its ServiceAccount.`

// ControllerOptions are the inputs of snapflow controller.
type ControllerOptions struct {
	cli.IOStreams
	deps    cli.Deps
	context func() context.Context

	Kubeconfig             string
	Concurrency            int
	MetricsBindAddress     string
	HealthProbeBindAddress string
	LeaderElect            bool
	LeaderElectNamespace   string
	Namespaces             []string
	MoverImage             string
	MoverCommand           []string
	Azure                  function.AzureCloud
	AzureCAFile            string
	DefaultServiceAccount  string
	FilesystemLocations    []string
	ActionTimeout          time.Duration

	config *rest.Config
}

// NewCmdController builds snapflow controller.
func NewCmdController(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	o := &ControllerOptions{
		IOStreams: streams, deps: deps,
		Concurrency:            controller.DefaultConcurrency,
		MetricsBindAddress:     ":8080",
		HealthProbeBindAddress: ":8081",
		DefaultServiceAccount:  controller.DefaultServiceAccountName,
		ActionTimeout:          run.DefaultActionTimeout,
	}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the ActionSet controller",
		Long:  controllerLong,
		Args:  cli.UsageArgs(cobra.NoArgs),
		RunE:  cli.RunE(o),
	}
	o.context = cmd.Context
	f := cmd.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means the in-cluster configuration")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "how many actions run at once")
	f.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, `address that serves metrics; "0" disables them`)
	f.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, `address that serves /healthz and /readyz; "0" disables them`)
	f.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader through a Lease, so that only one replica runs actions")
	f.StringVar(&o.LeaderElectNamespace, "leader-elect-namespace", "", "namespace of the leader election Lease; empty means the pod's namespace")
	f.StringSliceVar(&o.Namespaces, "namespaces", nil, "run only the ActionSets of these namespaces (comma-separated); empty means all")
	f.StringVar(&o.MoverImage, "mover-image", controller.DefaultMover.Image, "image of the mover pods that export and restore start")
	f.StringSliceVar(&o.MoverCommand, "mover-command", controller.DefaultMover.Command, "command that runs the snapflow binary in the mover image")
	f.StringVar(&o.DefaultServiceAccount, "default-service-account", o.DefaultServiceAccount,
		"ServiceAccount, in the ActionSet's namespace, that a run acts as when spec.serviceAccountName is empty; \"\" makes such ActionSets fail")
	f.DurationVar(&o.ActionTimeout, "default-action-timeout", o.ActionTimeout,
		"how long an action whose blueprint sets no timeout may run before it fails (its finally phases and cleanups still run)")
	f.StringVar(&o.Azure.ResourceManager, "azure-resource-manager", "", "Azure Resource Manager endpoint for crossRegionCopy; empty means the public cloud's (set it, with --azure-audience and --azure-authority-host, for a sovereign cloud)")
	f.StringVar(&o.Azure.Audience, "azure-audience", "", "token audience of --azure-resource-manager; empty means the public cloud's")
	f.StringVar(&o.Azure.AuthorityHost, "azure-authority-host", "", "Microsoft Entra ID endpoint that credentials get tokens from; empty means the public cloud's")
	f.StringVar(&o.AzureCAFile, "azure-ca-file", "", "PEM file of certificate authorities to trust for Azure's endpoints, besides the system's: for a private cloud or a local stand-in")
	f.BoolVar(&o.Azure.AllowHTTP, "azure-allow-http", false, "let Azure credentials travel over plain HTTP: only for a local stand-in of Azure in tests")
	f.StringSliceVar(&o.FilesystemLocations, "allow-filesystem-location", nil,
		"directory of the nodes under which filesystem Locations may keep repositories (repeatable); none allowed by default, since their mover pods mount it read-write as root")
	return cmd
}

// Complete loads the cluster configuration.
func (o *ControllerOptions) Complete(_ []string) error {
	var err error
	if o.Kubeconfig != "" {
		o.config, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	} else {
		o.config, err = rest.InClusterConfig()
	}
	if err != nil {
		return cli.Usagef("cluster configuration: %w", err)
	}
	if o.AzureCAFile != "" {
		if o.Azure.HTTPClient, err = cli.HTTPClientTrusting(o.AzureCAFile); err != nil {
			return cli.Usagef("--azure-ca-file: %w", err)
		}
	}
	return nil
}

// Validate checks the flags.
func (o *ControllerOptions) Validate() error {
	if o.ActionTimeout <= 0 {
		return cli.Usagef("--default-action-timeout must be positive, got %s", o.ActionTimeout)
	}
	if o.Concurrency < 1 {
		return cli.Usagef("--concurrency must be at least 1, got %d", o.Concurrency)
	}
	return nil
}

// Run runs the controller until the command's context ends.
func (o *ControllerOptions) Run() error {
	ctrl.SetLogger(klog.NewKlogr())
	mgr, err := controller.NewManager(o.config, controller.Options{
		Registry:                o.deps.Registry,
		Concurrency:             o.Concurrency,
		MetricsBindAddress:      o.MetricsBindAddress,
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		LeaderElect:             o.LeaderElect,
		LeaderElectionNamespace: o.LeaderElectNamespace,
		Namespaces:              o.Namespaces,
		Mover:                   function.Mover{Image: o.MoverImage, Command: o.MoverCommand},
		Azure:                   o.Azure,
		DefaultServiceAccount:   o.DefaultServiceAccount,
		Locations:               controller.LocationPolicy{FilesystemPaths: o.FilesystemLocations},
		ActionTimeout:           o.ActionTimeout,
	})
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	ctx := o.context()
	if ctx == nil {
		ctx = context.Background()
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}
