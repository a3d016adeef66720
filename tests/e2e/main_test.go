//go:build e2e

// Package e2e tests snapflow on a real local cluster (tests/cluster): one
// cluster per test binary, started in TestMain, each test in its own
// namespace.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/snapflow/snapflow/tests/cluster"
)

// env is the running cluster and its clients, shared by the tests.
var env struct {
	c      *cluster.Cluster
	bins   cluster.Binaries
	kube   kubernetes.Interface
	dyn    dynamic.Interface
	cfg    *rest.Config
	failed bool
	// tmp is the suite's temporary directory, removed at the end.
	tmp string
	// stopController stops the in-process controller, if a test started
	// one (see startController).
	stopController func()
	// stopDR stops what startDRPair started, last first.
	stopDR []func()
	// controllerLog holds what the in-process controller logged, for the
	// secret scan.
	controllerLog lockedBuffer
}

// lockedBuffer is a bytes.Buffer many goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "snapflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	env.tmp = tmp
	if err := setup(ctx, tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if env.c != nil {
			fmt.Fprintln(os.Stderr, env.c.Logs(30))
			env.c.Stop()
		}
		return 1
	}
	code := m.Run()
	if env.stopController != nil {
		env.stopController()
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "some tests failed; last lines of every component's log:")
		fmt.Fprintln(os.Stderr, env.c.Logs(40))
	}
	for i := len(env.stopDR) - 1; i >= 0; i-- {
		env.stopDR[i]()
	}
	env.c.Stop()
	return code
}

func setup(ctx context.Context, tmp string) error {
	bins, err := cluster.FindBinaries(cluster.CacheDir())
	if err != nil {
		return err
	}
	env.bins = bins
	local := filepath.Join(tmp, "snapflow-local")
	build := exec.Command("go", "build", "-o", local, "github.com/snapflow/snapflow/cmd/snapflow-local")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build snapflow-local: %w", err)
	}
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(tmp, "cluster"), Binaries: bins, LocalExe: local, Progress: os.Stderr})
	env.c = c
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	env.cfg = cfg
	if env.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if env.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	return installCRDs(ctx, env.dyn, filepath.Join("..", "..", "schema", "crds"))
}
