//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// controllerProcess is `snapflow controller` run as its own process, so a
// test can kill it as a crash would.
type controllerProcess struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{} // closed once the process has ended
	// killedAnyTime is set when a test kills it at a random moment, maybe
	// before it logged anything.
	killedAnyTime bool
}

// startControllerProcess starts the controller for namespace ns; it is
// killed when the test ends. environ is added to its environment, e.g.
// failpoint.EnvVar=<point> to have it crash there.
func startControllerProcess(t *testing.T, ns string, environ ...string) *controllerProcess {
	t.Helper()
	bin, err := snapflowBinary()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.CreateTemp(t.TempDir(), "controller-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "controller", "--kubeconfig", env.c.Kubeconfig, "--namespaces", ns,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--mover-image", "snapflow", "--mover-command", bin, // mover pods run it on the process node
		"--allow-filesystem-location", os.TempDir())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), environ...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &controllerProcess{cmd: cmd, log: logFile.Name(), exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill(t)
		out, _ := os.ReadFile(p.log)
		if !p.killedAnyTime && !strings.Contains(string(out), "ActionSet") {
			t.Errorf("controller log %s holds no line about an ActionSet (%d bytes): scanning it for secrets would prove nothing", p.log, len(out))
		}
		for _, leak := range leakedIn(string(out), knownSecrets()) {
			t.Errorf("%s appears in the log of controller process %s", leak, p.log)
		}
		if t.Failed() {
			t.Logf("controller log:\n%s", tail(string(out), 4000))
		}
	})
	return p
}

// kill ends the controller with SIGKILL: no cleanup, no status write.
func (p *controllerProcess) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
}

// signal sends sig unless the process has ended, and waits until it has.
func (p *controllerProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Errorf("signal controller: %v", err)
	}
	<-p.exited
}

// ended reports whether the process has ended, and if so whether SIGKILL
// ended it.
func (p *controllerProcess) ended() (ended, killed bool) {
	select {
	case <-p.exited:
		ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		return true, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	default:
		return false, false
	}
}

// crashBlueprint has five phases; the third waits for a ConfigMap, which
// gives the test a deterministic point to kill the controller at. Every
// other phase appends its name to a file: the side effects to count.
const crashBlueprint = `
metadata: {name: five}
spec:
  actions:
    backup:
      phases:
      - {name: p1, func: kubeExec, args: {namespace: "${{ workload.namespace }}", pod: "${{ workload.name }}", command: ["sh", "-c", "echo p1 >> /data/effects"]}}
      - {name: p2, func: kubeExec, args: {namespace: "${{ workload.namespace }}", pod: "${{ workload.name }}", command: ["sh", "-c", "echo p2 >> /data/effects"]}}
      - name: gate
        func: wait
        args: {apiVersion: v1, kind: ConfigMap, namespace: "${{ workload.namespace }}", name: go, condition: "object.data.go == 'yes'", timeout: 5m}
      - {name: p4, func: kubeExec, args: {namespace: "${{ workload.namespace }}", pod: "${{ workload.name }}", command: ["sh", "-c", "echo p4 >> /data/effects"]}}
      - {name: p5, func: kubeExec, args: {namespace: "${{ workload.namespace }}", pod: "${{ workload.name }}", command: ["sh", "-c", "echo p5 >> /data/effects"]}}
`

// TestControllerCrashResumes kills the controller while a five-phase
// action waits in its third phase, and deletes the blueprint. The
// restarted controller finishes the action from the spec frozen in its
// status, and each side effect happened exactly once.
func TestControllerCrashResumes(t *testing.T) {
	const ns = "crash"
	c := startController(t) // for its client; it does not watch ns
	namespace(t, ns)
	ctx := t.Context()
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc("data", corev1.ReadWriteOnce, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.kube.CoreV1().Pods(ns).Create(ctx, shellPod("counter", "data", false, "touch /data/effects; exec sleep 3600"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, ns, "counter")
	if err := c.Create(ctx, blueprint(t, ns, crashBlueprint)); err != nil {
		t.Fatal(err)
	}
	first := startControllerProcess(t, ns)
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "crash"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "five"}, Action: "backup",
			Object: v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Pod", Name: "counter"},
		},
	}
	if err := c.Create(ctx, as); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "crash"}
	waitActionSet(t, c, key, "waiting in phase gate", func(as *v1alpha1.ActionSet) bool {
		return as.Status.CurrentPhase == "gate"
	})
	first.kill(t)
	// The resumed run uses the blueprint frozen in its status: deleting the
	// Blueprint now changes nothing.
	if err := c.Delete(ctx, &v1alpha1.Blueprint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "five"}}); err != nil {
		t.Fatal(err)
	}
	startControllerProcess(t, ns)
	if _, err := env.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "go"}, Data: map[string]string{"go": "yes"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, ns, "crash")
	mustSucceed(t, done)
	effects := strings.Fields(kubectl(t, "exec", "-n", ns, "counter", "--", "cat", "/data/effects"))
	if diff := cmp.Diff([]string{"p1", "p2", "p4", "p5"}, effects); diff != "" {
		t.Errorf("side effects, each exactly once (-want +got):\n%s", diff)
	}
	for _, p := range done.Status.Phases {
		if p.Name != "gate" && p.Attempts != 1 {
			t.Errorf("phase %s ran %d times, want once", p.Name, p.Attempts)
		}
	}
}

// TestWatchdogReleasesFreeze freezes basic-app and kills the controller
// during the hold: the watchdog in the app's container releases the
// freeze. A restarted controller freezes again and finishes the backup.
func TestWatchdogReleasesFreeze(t *testing.T) {
	const ns = "crash-hold"
	c := startController(t) // for its client; it does not watch ns
	namespace(t, ns)
	pod := basicApp(t, ns, env.c.StorageClass)
	data, err := os.ReadFile(filepath.Join("..", "..", "blueprints", "quiesced-snapshot", "blueprint.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A gate between freeze and snapshot holds the freeze until the test
	// opens it.
	gated := strings.Replace(string(data), "      - name: snap\n", `      - name: gate
        func: wait
        args: {apiVersion: v1, kind: ConfigMap, namespace: "${{ workload.namespace }}", name: go, condition: "object.data.go == 'yes'", timeout: 5m}
      - name: snap
`, 1)
	if err := c.Create(t.Context(), blueprint(t, ns, gated)); err != nil {
		t.Fatal(err)
	}
	first := startControllerProcess(t, ns)
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "held"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "quiesced-snapshot"}, Action: "backup",
			Object: v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "basic-app"},
			Params: jsonArgs(t, strings.Replace(basicAppParams, "{", `{"maxHold": "5s",`, 1)),
		},
	}
	if err := c.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "held"}
	waitActionSet(t, c, key, "holding the freeze in phase gate", func(as *v1alpha1.ActionSet) bool {
		return as.Status.CurrentPhase == "gate"
	})
	if !appFrozen(t, ns, pod) {
		t.Fatal("basic-app is not frozen during the hold")
	}
	first.kill(t)
	eventually(t, "the watchdog releases the freeze", func(ctx context.Context) (bool, error) {
		return !appFrozen(t, ns, pod), nil
	})
	startControllerProcess(t, ns)
	if _, err := env.kube.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "go"}, Data: map[string]string{"go": "yes"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := finished(t, c, ns, "held")
	mustSucceed(t, done)
	if appFrozen(t, ns, pod) {
		t.Error("basic-app is frozen after the backup")
	}
	// The freeze had lapsed, so the resumed run froze again before the
	// snapshot rather than claim a freeze it no longer held.
	for _, p := range done.Status.Phases {
		if p.Name == "freeze" && p.Attempts != 2 {
			t.Errorf("phase freeze ran %d times, want 2: once before the crash, once after", p.Attempts)
		}
	}
}
