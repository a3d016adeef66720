package controller

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Name is the controller's name: its Event source and field manager.
const Name = "snapflow-controller"

// LeaderElectionID is the Lease that elects the active controller.
const LeaderElectionID = "snapflow-controller.snapflow.dev"

// DefaultServiceAccountName is the ServiceAccount runs act as by default;
// `kubectl snapflow rbac` creates it.
const DefaultServiceAccountName = v1alpha1.DefaultServiceAccountName

// DefaultConcurrency is how many actions run at once by default.
const DefaultConcurrency = 10

// DefaultQPS and DefaultBurst bound the controller's requests to the API
// server when the configuration sets no limit: every phase start and end
// is a status write and an Event, and many actions run at once. At 50 QPS,
// 200 three-phase ActionSets took 35 s, throttled by the client; at 200,
// 9.6 s (BenchmarkController). The API server's priority and fairness
// still protects the cluster.
const (
	DefaultQPS   = 200
	DefaultBurst = 400
)

// Options configure the controller manager.
type Options struct {
	// Registry holds the functions blueprints may call; required. cmd/
	// builds it from the built-ins, so the engine never imports them.
	Registry *function.Registry
	// Concurrency bounds how many actions run at once.
	Concurrency int
	// MetricsBindAddress serves metrics; "0" disables them.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "" or "0"
	// disables them.
	HealthProbeBindAddress string
	// LeaderElect makes the manager elect a leader through a Lease, so that
	// only one replica runs actions.
	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means the pod's
	// namespace when in cluster.
	LeaderElectionNamespace string
	// Namespaces limits the controller to ActionSets in these namespaces;
	// empty means all namespaces.
	Namespaces []string
	// Clock tells time; nil is the real clock.
	Clock clock.WithTicker
	// ClientsFor builds the clients a run acts through; nil means clients
	// from the manager's config that impersonate the run's ServiceAccount.
	ClientsFor ClientsFor
	// DefaultServiceAccount is the ServiceAccount, in the ActionSet's
	// namespace, that a run acts as when the ActionSet names none; empty
	// means such an ActionSet fails.
	DefaultServiceAccount string
	// ActionTimeout bounds actions whose blueprint sets no timeout; zero
	// means run.DefaultActionTimeout.
	ActionTimeout time.Duration
	// Locations is what the operator allows of Locations.
	Locations LocationPolicy
	// Mover says how export and restore start snapflow in mover pods.
	Mover function.Mover
	// Azure says where Azure's APIs are; zero means the public cloud.
	Azure function.AzureCloud
}

// DefaultMover runs the snapflow image's binary.
var DefaultMover = function.Mover{Image: "ghcr.io/snapflow/snapflow:dev", Command: []string{"/snapflow"}}

// Scheme is the scheme the controller uses: the built-in kinds and
// snapflow's.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add built-in kinds: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add snapflow kinds: %w", err)
	}
	return s, nil
}

// NewManager builds a manager running the ActionSet controller against
// cfg. Start it with Start(ctx); cancelling ctx stops it, leaving running
// ActionSets to be resumed by the next controller.
func NewManager(cfg *rest.Config, o Options) (manager.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	if o.MetricsBindAddress == "" {
		o.MetricsBindAddress = "0"
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.Burst == 0 { // client-go's 5 QPS would throttle checkpoints
		cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
	}
	var cacheOpts cache.Options
	if len(o.Namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		LeaderElection:          o.LeaderElect,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
	})
	if err != nil {
		return nil, fmt.Errorf("build manager: %w", err)
	}
	if o.HealthProbeBindAddress != "" && o.HealthProbeBindAddress != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add health check: %w", err)
		}
		if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add ready check: %w", err)
		}
	}
	if err := Setup(mgr, cfg, o); err != nil {
		return nil, err
	}
	return mgr, nil
}

// Setup adds the ActionSet controller and its runners to mgr.
func Setup(mgr manager.Manager, cfg *rest.Config, o Options) error {
	if o.Registry == nil {
		return errors.New("no function registry: the caller passes one (cmd builds it from functions.Builtins)")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	comp, err := compile.New(o.Registry)
	if err != nil {
		return fmt.Errorf("build compiler: %w", err)
	}
	if o.ClientsFor == nil {
		o.ClientsFor = NewClientsFor(cfg, mgr.GetRESTMapper())
	}
	if o.Mover.Image == "" {
		o.Mover = DefaultMover
	}
	runners := NewRunners(o.Concurrency)
	if err := mgr.Add(runners); err != nil {
		return fmt.Errorf("add runners: %w", err)
	}
	metrics, err := defaultRunMetrics()
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	r := &Reconciler{
		metrics:               metrics,
		client:                mgr.GetClient(),
		reader:                mgr.GetAPIReader(),
		clientsFor:            o.ClientsFor,
		defaultServiceAccount: o.DefaultServiceAccount,
		mover:                 o.Mover,
		azure:                 o.Azure,
		locations:             o.Locations,
		actionTimeout:         o.ActionTimeout,
		recorder:              mgr.GetEventRecorder(Name),
		clock:                 o.Clock,
		compiled:              newCompileCache(comp),
		runners:               runners,
	}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ActionSet{}).
		WatchesRawSource(source.Channel(runners.Done(), &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Named("actionset").
		Complete(r)
	if err != nil {
		return fmt.Errorf("build ActionSet controller: %w", err)
	}
	return nil
}
