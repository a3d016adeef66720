package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure Start.
type Options struct {
	// Dir holds the cluster's state: PKI, data, logs, PID files,
	// cluster.json. It is created if missing.
	Dir      string
	Binaries Binaries
	// LocalExe is the snapflow-local binary; its csi-driver and node
	// subcommands run the project's CSI driver and the process node.
	LocalExe string
	// Detached components outlive the caller (`snapflow-local up`).
	Detached bool
	// Progress gets one line per component as it becomes ready; may be nil.
	Progress io.Writer
	// Name, if set, names the cluster (one of a DR pair, e.g. "east") and
	// its Node; empty is the default cluster.
	Name string
	// Region is the cluster's region, e.g. "eastus"; required with Shared.
	Region string
	// Shared, if set, are the shared services (StartShared) the cluster
	// uses instead of its own Azurite; its CSI driver is then the
	// azure-disk personality on the shared ARM, with AKS's names.
	Shared *SharedInfo
}

// Info is what users of a running cluster need; it is saved as
// <Dir>/cluster.json.
type Info struct {
	Dir             string            `json:"dir"`
	Kubeconfig      string            `json:"kubeconfig"`
	APIServer       string            `json:"apiServer"`
	AzuriteEndpoint string            `json:"azuriteEndpoint"` // http://127.0.0.1:PORT; accounts are path-style: <endpoint>/<account>
	AzuriteAccounts map[string]string `json:"azuriteAccounts"` // account name (a region) to shared key
	CSIDataDir      string            `json:"csiDataDir"`
	NodeName        string            `json:"nodeName"`
	StorageClass    string            `json:"storageClass"`
	SnapshotClass   string            `json:"snapshotClass"`
	CSIDriver       string            `json:"csiDriver"`
	Name            string            `json:"name,omitempty"`
	Region          string            `json:"region,omitempty"`
	ARMURL          string            `json:"armURL,omitempty"`        // with Options.Shared
	ResourceGroup   string            `json:"resourceGroup,omitempty"` // of the cluster's disks, with Options.Shared
}

// Cluster is a running local cluster.
type Cluster struct {
	Info
	procs []*process
}

// startTimeout bounds how long one component may take to become ready.
const startTimeout = 90 * time.Second

// Start brings up every component in order, waiting for each to be ready.
// A component that fails to start is named in the error with the last
// lines of its log, and everything started so far is stopped.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	dir, err := prepareDir(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkStale(dir); err != nil {
		if o.Name != "" {
			return nil, fmt.Errorf("%w (for this one: `snapflow-local down --name %s`)", err, o.Name)
		}
		return nil, err
	}
	s := &starter{o: o, dir: dir, c: &Cluster{Info: newInfo(o, dir)}}
	defer func() {
		if err != nil {
			s.c.Stop()
		}
	}()
	if err := s.prepare(); err != nil {
		return nil, err
	}
	azurite := s.startAzurite
	if o.Shared != nil {
		azurite = s.useSharedAzurite
	}
	for _, step := range []func(context.Context) error{
		s.startEtcd, azurite, s.startAPIServer, s.startControllers,
		s.installObjects, s.startCSI, s.startNode,
	} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return s.c, s.c.save()
}

// starter carries what the start steps share.
type starter struct {
	o      Options
	dir    string
	c      *Cluster
	pki    *pki
	ports  ports
	client kubernetes.Interface
	rest   *rest.Config
}

func (s *starter) prepare() error {
	var err error
	if s.pki, err = newPKI(filepath.Join(s.dir, "pki"), s.c.NodeName); err != nil {
		return fmt.Errorf("create certificates: %w", err)
	}
	if s.ports, err = freePorts(); err != nil {
		return err
	}
	s.c.APIServer = fmt.Sprintf("https://127.0.0.1:%d", s.ports.APIServer)
	s.c.Kubeconfig = filepath.Join(s.dir, "kubeconfig")
	if err := writeKubeconfig(s.c.Kubeconfig, s.c.APIServer, s.pki); err != nil {
		return err
	}
	if s.rest, err = clientcmd.BuildConfigFromFlags("", s.c.Kubeconfig); err != nil {
		return err
	}
	s.client, err = kubernetes.NewForConfig(s.rest)
	return err
}

// run starts a component and waits until ready reports true, failing fast
// if the process exits.
func (s *starter) run(ctx context.Context, name, bin string, args, env []string, ready func(context.Context) (bool, error)) error {
	p, err := spawn(s.dir, name, bin, args, env, s.o.Detached)
	if err != nil {
		return err
	}
	s.c.procs = append(s.c.procs, p)
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, startTimeout, true, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("exited")
		}
		return ready(ctx)
	})
	if err != nil {
		return fmt.Errorf("%s did not start: %w\nlast lines of %s:\n%s", name, err, p.logPath, p.tail(25))
	}
	if s.o.Progress != nil {
		fmt.Fprintf(s.o.Progress, "%-24s ready in %s\n", name, time.Since(start).Round(10*time.Millisecond))
	}
	return nil
}

// freePorts picks unused ports on 127.0.0.1.
func freePorts() (ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	next := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0
		}
		ls = append(ls, l)
		return l.Addr().(*net.TCPAddr).Port
	}
	p := ports{Etcd: next(), EtcdPeer: next(), APIServer: next(), ControllerManager: next(),
		Scheduler: next(), Kubelet: next(), Azurite: next(),
		Provisioner: next(), SnapshotController: next(), Snapshotter: next()}
	if p.Snapshotter == 0 {
		return p, errors.New("no free ports on 127.0.0.1")
	}
	return p, nil
}

func writeKubeconfig(path, server string, k *pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: k.CACert}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: k.AdminCert, ClientKey: k.AdminKey}
	cfg.Contexts["snapflow-local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "snapflow-local"
	return clientcmd.WriteToFile(*cfg, path)
}

// tcpReady reports whether something accepts connections on port.
func tcpReady(port int) func(context.Context) (bool, error) {
	return func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	}
}

// Stop stops every component, last started first.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
	c.procs = nil
}

// Logs returns the last n lines of every component's log, for a failing
// test to print.
func (c *Cluster) Logs(n int) string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "==== %s (%s)\n%s\n", p.name, p.logPath, p.tail(n))
	}
	return b.String()
}

func (c *Cluster) save() error {
	data, err := json.MarshalIndent(c.Info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "cluster.json"), data, 0o644)
}

// Load reads the Info of a cluster started in dir.
func Load(dir string) (Info, error) {
	var info Info
	data, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return info, fmt.Errorf("no cluster in %s (start one with `make cluster-up`): %w", dir, err)
	}
	return info, json.Unmarshal(data, &info)
}

// Down stops the components recorded in dir's PID files.
func Down(dir string) error {
	return stopRecorded(dir, 10*time.Second)
}
