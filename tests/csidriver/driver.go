package csidriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stopGrace is how long Run waits for in-flight calls after ctx ends before
// it closes their connections.
const stopGrace = 5 * time.Second

// Config configures the driver.
type Config struct {
	Name    string // CSI driver name, e.g. "csi.snapflow.dev"
	NodeID  string // the node's name
	DataDir string // where volumes, snapshots and state live
	Version string // reported by GetPluginInfo (must be non-empty or the sidecars exit)

	// Logger receives one line per CSI call; nil means slog.Default().
	Logger *slog.Logger

	// AzureDisk, if set, makes volumes and snapshots managed disks and
	// snapshots in Azure Resource Manager too (see AzureDiskConfig).
	AzureDisk *AzureDiskConfig
}

func (c Config) validate() error {
	var missing []string
	for field, v := range map[string]string{"Name": c.Name, "NodeID": c.NodeID, "DataDir": c.DataDir, "Version": c.Version} {
		if v == "" {
			missing = append(missing, field)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("csi driver config: %s must be set", strings.Join(missing, ", "))
	}
	if c.AzureDisk != nil {
		return c.AzureDisk.validate()
	}
	return nil
}

// driver holds the state shared by the three CSI services. mu guards st and
// the files under DataDir; every call that reads or changes them holds it.
type driver struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	st *state

	az *azureDisk // nil but for the Azure-disk personality
}

func newDriver(cfg Config) (*driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	for _, dir := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "volumes"), filepath.Join(cfg.DataDir, "snapshots")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	// Mount tables list resolved paths; removeData compares against them.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err == nil {
		dataDir, err = filepath.EvalSymlinks(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	cfg.DataDir = dataDir
	st, err := loadState(filepath.Join(cfg.DataDir, stateFile))
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &driver{cfg: cfg, log: log.With("driver", cfg.Name), st: st}
	if cfg.AzureDisk != nil {
		if d.az, err = newAzureDisk(*cfg.AzureDisk); err != nil {
			return nil, err
		}
	}
	return d, d.commit()
}

// Run serves the Identity, Controller and Node services (and the
// GroupController service) on endpoint (unix:///path/csi.sock) until ctx
// ends. It returns nil after ctx ends and
// the server has stopped, or the error that kept it from serving.
func Run(ctx context.Context, cfg Config, endpoint string) error {
	d, err := newDriver(cfg)
	if err != nil {
		return err
	}
	lis, err := listenUnix(endpoint)
	if err != nil {
		return err
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(d.logCall))
	csi.RegisterIdentityServer(srv, &identityServer{d: d})
	csi.RegisterControllerServer(srv, &controllerServer{d: d})
	csi.RegisterNodeServer(srv, &nodeServer{d: d})
	if d.az == nil { // the Azure Disk CSI driver has no group snapshots
		csi.RegisterGroupControllerServer(srv, &groupServer{d: d})
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	d.log.Info("serving CSI", "endpoint", endpoint, "dataDir", cfg.DataDir, "version", cfg.Version)
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", endpoint, err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		srv.Stop()
		<-stopped
	}
	<-served
	return nil
}

// listenUnix listens on a unix:// endpoint, replacing a stale socket file.
func listenUnix(endpoint string) (net.Listener, error) {
	p, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok || p == "" {
		return nil, fmt.Errorf("endpoint %q: want unix:///path/to.sock", endpoint)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	lis, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", endpoint, err)
	}
	return lis, nil
}

// logCall is a unary interceptor that logs one line per call. Probe and
// GetPluginInfo are polled by the sidecars, so they log at debug level.
func (d *driver) logCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	method := path.Base(info.FullMethod)
	level := slog.LevelInfo
	switch {
	case err != nil:
		level = slog.LevelWarn
	case method == "Probe" || method == "GetPluginInfo":
		level = slog.LevelDebug
	}
	attrs := []any{"method", method, "code", status.Code(err).String(), "duration", time.Since(start).Round(time.Microsecond)}
	if err != nil {
		attrs = append(attrs, "err", status.Convert(err).Message())
	}
	d.log.Log(ctx, level, "csi call", attrs...)
	return resp, err
}

// internalErr turns an unexpected failure into a gRPC Internal error.
func internalErr(err error) error {
	return status.Error(codes.Internal, err.Error())
}

// identityServer implements the CSI Identity service.
type identityServer struct {
	csi.UnimplementedIdentityServer
	d *driver
}

func (s *identityServer) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: s.d.cfg.Name, VendorVersion: s.d.cfg.Version}, nil
}

func (s *identityServer) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	var caps []*csi.PluginCapability
	types := []csi.PluginCapability_Service_Type{csi.PluginCapability_Service_CONTROLLER_SERVICE}
	if s.d.az == nil {
		types = append(types, csi.PluginCapability_Service_GROUP_CONTROLLER_SERVICE)
	}
	for _, t := range types {
		caps = append(caps, &csi.PluginCapability{Type: &csi.PluginCapability_Service_{
			Service: &csi.PluginCapability_Service{Type: t},
		}})
	}
	return &csi.GetPluginCapabilitiesResponse{Capabilities: caps}, nil
}

func (s *identityServer) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}
