//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
	"github.com/snapflow/snapflow/engine/controller"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const benchActionSets = 200

// BenchmarkController creates 200 ActionSets of a 3-phase no-op blueprint
// at once and waits for all to succeed, with the controller as its own
// process (`snapflow controller`), so its peak RSS can be read. It reports
// seconds to all Succeeded, the controller's peak RSS, and x-configmaps:
// the time relative to a reference run in the same process that creates
// and reads back 200 ConfigMaps (the API server's own floor for as many
// objects). Goals: under 10 s and 150 MiB.
func BenchmarkController(b *testing.B) {
	const ns = "bench"
	scheme, err := controller.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	// The test's own clients must not be what is measured: lift client-go's
	// default 5 requests per second.
	cfg := rest.CopyConfig(env.cfg)
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer env.kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	bin, err := snapflowBinary()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := waitDefaultSA(ctx, ns); err != nil {
		b.Fatal(err)
	}
	if err := grant(ctx, plugin.RunnerAccess{Namespace: ns, ServiceAccount: v1alpha1.DefaultServiceAccountName}); err != nil {
		b.Fatal(err)
	}
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	bp := &v1alpha1.Blueprint{}
	bp.Namespace, bp.Name = ns, "noop"
	bp.Spec.Actions = map[string]v1alpha1.ActionSpec{"run": {Phases: []v1alpha1.PhaseSpec{
		{Name: "one", Func: "log", Args: jsonArgs(b, `{"message": "one"}`)},
		{Name: "two", Func: "log", Args: jsonArgs(b, `{"message": "two"}`)},
		{Name: "three", Func: "log", Args: jsonArgs(b, `{"message": "three"}`)},
	}}}
	if err := c.Create(ctx, bp); err != nil {
		b.Fatal(err)
	}
	var log bytes.Buffer
	ctrl := exec.Command(bin, "controller", "--kubeconfig", env.c.Kubeconfig, "--namespaces", ns, "--concurrency", "50",
		"--metrics-bind-address=0", "--health-probe-bind-address=0")
	ctrl.Stdout, ctrl.Stderr = &log, &log
	if err := ctrl.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ctrl.Process.Kill(); _ = ctrl.Wait() }()

	// Each of the b.N rounds creates 200 more ActionSets and waits until
	// all of them succeeded; the reference rounds alternate with them.
	b.ResetTimer()
	var elapsed, ref time.Duration
	for round := range b.N {
		b.StopTimer()
		ref += timeConfigMaps(b, kube, ns, round)
		b.StartTimer()
		start := time.Now()
		createAll(b, c, ns, round)
		err = waitSucceeded(ctx, c, ns, (round+1)*benchActionSets)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatalf("not all ActionSets succeeded: %v\ncontroller log tail:\n%s", err, tail(log.String(), 20))
		}
	}
	b.StopTimer()
	n := time.Duration(b.N)
	b.ReportMetric((elapsed / n).Seconds(), "s/200-actionsets")
	b.ReportMetric(peakRSSMiB(ctrl.Process.Pid), "MiB-peak-rss")
	b.ReportMetric(elapsed.Seconds()/ref.Seconds(), "x-configmaps")
}

// waitSucceeded waits until want ActionSets in ns succeeded; a failed one
// ends the wait.
func waitSucceeded(ctx context.Context, c client.Client, ns string, want int) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &v1alpha1.ActionSetList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		done := 0
		for _, as := range list.Items {
			if as.Status.State == v1alpha1.ActionSetFailed {
				return false, fmt.Errorf("%s failed: %s", as.Name, as.Status.Message)
			}
			if as.Status.State == v1alpha1.ActionSetSucceeded {
				done++
			}
		}
		return done == want, nil
	})
}

func jsonArgs(t testing.TB, s string) map[string]apiextensionsv1.JSON {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("args %s: %v", s, err)
	}
	out := map[string]apiextensionsv1.JSON{}
	for k, v := range m {
		out[k] = apiextensionsv1.JSON{Raw: v}
	}
	return out
}

// createAll creates the ActionSets concurrently, as `kubectl apply` of
// many files would.
func createAll(b *testing.B, c client.Client, ns string, round int) {
	var wg sync.WaitGroup
	errs := make(chan error, benchActionSets)
	for i := range benchActionSets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Create(context.Background(), actionSet(ns, fmt.Sprintf("noop-%d-%03d", round, i), "noop", "run", "data"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// timeConfigMaps is the reference run: create 200 ConfigMaps concurrently
// and read each back.
func timeConfigMaps(b *testing.B, kube kubernetes.Interface, ns string, round int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i := range benchActionSets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ref-%d-%03d", round, i)}, Data: map[string]string{"k": "v"}}
			if _, err := kube.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
				b.Error(err)
				return
			}
			if _, err := kube.CoreV1().ConfigMaps(ns).Get(context.Background(), cm.Name, metav1.GetOptions{}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// peakRSSMiB reads VmHWM, the process's peak resident set size.
func peakRSSMiB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func waitDefaultSA(ctx context.Context, ns string) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := env.kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}
