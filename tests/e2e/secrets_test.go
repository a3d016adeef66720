//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// knownSecrets are the secret values the tests give the controller: the
// repository password and Azurite's account keys.
func knownSecrets() []string {
	out := []string{repoPassword}
	for _, key := range env.c.AzuriteAccounts {
		out = append(out, key)
	}
	return out
}

// leakedIn names the secrets that text holds, by length only.
func leakedIn(text string, secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			out = append(out, fmt.Sprintf("a secret value of %d characters", len(s)))
		}
	}
	return out
}

// noSecretsLeaked scans the in-process controller's log, what the movers
// printed (movers, from captureMoverLogs), and the ActionSets, Events and
// pods of namespaces (pod specs hold the mover's command line and
// environment) for the secret values.
func noSecretsLeaked(t *testing.T, secrets []string, movers *moverLogs, namespaces ...string) {
	t.Helper()
	log := env.controllerLog.String()
	if !strings.Contains(log, `controller="actionset"`) {
		t.Errorf("the controller's log was not captured (%d bytes): scanning it would prove nothing", len(log))
	}
	for _, leak := range leakedIn(log, secrets) {
		t.Errorf("%s appears in the controller's log", leak)
	}
	if movers != nil {
		text, n := movers.text()
		if n == 0 || !strings.Contains(text, `"result"`) {
			t.Errorf("captured %d mover logs with no result line: scanning them would prove nothing", n)
		}
		for _, leak := range leakedIn(text, secrets) {
			t.Errorf("%s appears in a mover's log", leak)
		}
	}
	for _, ns := range namespaces {
		for _, what := range []string{"actionsets.snapflow.dev", "events", "pods"} {
			for _, leak := range leakedIn(kubectl(t, "get", what, "-n", ns, "-o", "json"), secrets) {
				t.Errorf("%s appears in %s of %s", leak, what, ns)
			}
		}
	}
}

// moverLogs is what the mover pods of some namespaces printed, captured
// while they ran: a finished mover's pod, and its log, are deleted.
type moverLogs struct {
	mu   sync.Mutex
	logs map[types.UID]*strings.Builder
}

func (m *moverLogs) text() (string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, l := range m.logs {
		b.WriteString(l.String())
	}
	return b.String(), len(m.logs)
}

// captureMoverLogs follows the log of every mover pod that starts in
// namespaces from now until the test ends.
func captureMoverLogs(t *testing.T, namespaces ...string) *moverLogs {
	t.Helper()
	m := &moverLogs{logs: map[types.UID]*strings.Builder{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, ns := range namespaces {
		w, err := env.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: moverSelector})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range w.ResultChan() {
				if pod, ok := ev.Object.(*corev1.Pod); ok && pod.Status.Phase != corev1.PodPending {
					if b := m.start(pod.UID); b != nil {
						wg.Add(1)
						go func() { defer wg.Done(); m.follow(ctx, pod, b) }()
					}
				}
			}
		}()
	}
	return m
}

// start returns the builder for a pod not followed yet, else nil.
func (m *moverLogs) start(uid types.UID) *strings.Builder {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.logs[uid]; ok {
		return nil
	}
	b := &strings.Builder{}
	m.logs[uid] = b
	return b
}

func (m *moverLogs) follow(ctx context.Context, pod *corev1.Pod, b *strings.Builder) {
	stream, err := env.kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "mover", Follow: true}).Stream(ctx)
	if err != nil {
		return // gone already: the scan says how many it has
	}
	defer stream.Close()
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m.mu.Lock()
		b.WriteString(sc.Text() + "\n")
		m.mu.Unlock()
	}
}
