//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/functions"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// faultSets holds the ActionSets of TestExportFaults. The in-process
// controller does not watch it: the tests run `snapflow controller` as a
// process of their own (startControllerProcess).
const faultSets = "exp-fault-sets"

// bigMiB is how much random data the fault tests write into basic-app's
// volume, so that its upload takes seconds rather than milliseconds.
const bigMiB = 512

// faultRunTimeout bounds one backup or restore of the fault tests: an
// unreachable Location takes three attempts of about a minute each (the
// Azure client's own six tries, 1 s to 30 s apart).
const faultRunTimeout = 6 * time.Minute

// TestExportFaults shows the faults of an export to a kopia Location end
// to end, with csi-snapshot's 3-2-1 variant: an unreachable Location is
// retried, then fails clearly, leaving nothing behind; a mover pod killed
// mid-upload is retried and the export completes with the data intact;
// and the ActionSet's progress moves while the upload runs.
func TestExportFaults(t *testing.T) {
	c := startController(t) // for its client; it does not watch faultSets
	sets := namespace(t, faultSets)
	libraryBlueprint(t, c, sets, "csi-snapshot")
	startControllerProcess(t, sets)

	t.Run("unreachable location", func(t *testing.T) { unreachableLocation(t, c, sets) })
	t.Run("mover killed", func(t *testing.T) { moverKilled(t, c, sets) })
	t.Run("progress", func(t *testing.T) { progressMoves(t, c, sets) })
}

// unreachableLocation exports to an azure Location whose endpoint is a
// closed local port. The upload phase tries three times, each with a
// fresh mover pod, then the ActionSet fails naming the phase, the
// Location and why; no mover pod, credentials copy or cleanup is left.
func unreachableLocation(t *testing.T, c client.Client, sets string) {
	app := namespace(t, "exp-fault-unreachable")
	basicApp(t, app, env.c.StorageClass)
	endpoint := "http://" + closedPort(t) + "/eastus"
	key := azureLocation(t, c, sets, "unreachable")
	loc := &v1alpha1.Location{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: sets, Name: "unreachable"}, loc); err != nil {
		t.Fatal(err)
	}
	loc.Spec.Endpoint = endpoint
	if err := c.Update(t.Context(), loc); err != nil {
		t.Fatal(err)
	}

	// Without the objects, whose phase would meet the closed port first.
	createBackupWith(t, c, sets, "unreachable-backup", app, "unreachable", `{"export": true, "resources": false}`)
	movers := map[types.UID]bool{}
	done := watchRun(t, c, client.ObjectKey{Namespace: sets, Name: "unreachable-backup"}, func(ctx context.Context, _ *v1alpha1.ActionSet) error {
		pods, err := moverPods(ctx, app)
		for _, p := range pods {
			movers[p.UID] = true
		}
		return err
	})

	if done.Status.State != v1alpha1.ActionSetFailed {
		t.Fatalf("state %s (%s), want Failed", done.Status.State, done.Status.Message)
	}
	t.Logf("message: %s", done.Status.Message)
	for _, want := range []string{`phase "upload"`, "after 3 attempts", "Location " + sets + "/unreachable", strings.TrimPrefix(endpoint, "http://"), "connection refused"} {
		if !strings.Contains(done.Status.Message, want) {
			t.Errorf("message %q does not say %q", done.Status.Message, want)
		}
	}
	upload := phaseRecord(t, done, "upload")
	if upload.State != v1alpha1.PhaseFailed || upload.Attempts != 3 {
		t.Errorf("phase upload: %s after %d attempts, want Failed after 3", upload.State, upload.Attempts)
	}
	if len(movers) != 3 {
		t.Errorf("saw %d mover pods, want 3: one per attempt", len(movers))
	}
	if left := moverLeftovers(t, app, sets); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if len(done.Status.PendingCleanups) > 0 {
		t.Errorf("pending cleanups: %v", done.Status.PendingCleanups)
	}
	noSecretsLeaked(t, []string{repoPassword, key}, nil, sets, app)
}

// moverKilled deletes the mover pod while it uploads. The phase's next
// attempt starts a fresh mover, the backup succeeds with an export of
// the whole volume, and a restore from that export alone gives back the
// same bytes.
func moverKilled(t *testing.T, c client.Client, sets string) {
	app := namespace(t, "exp-fault-killed")
	_, sum := bigApp(t, app)
	key := azureLocation(t, c, sets, "killed")
	createBackup(t, c, sets, "killed-backup", app, "killed")

	var killed types.UID
	var killedAt mover.Line
	var killTime time.Time
	movers := map[types.UID]bool{}
	done := watchRun(t, c, client.ObjectKey{Namespace: sets, Name: "killed-backup"}, func(ctx context.Context, as *v1alpha1.ActionSet) error {
		pods, err := moverPods(ctx, app)
		if err != nil {
			return err
		}
		for _, p := range pods {
			movers[p.UID] = true
		}
		if killed != "" && len(movers) < 2 && time.Since(killTime) > pollTimeout {
			upload := phaseRecord(t, as, "upload")
			return fmt.Errorf("no fresh mover pod %s after the kill: the upload phase did not retry (attempts %d, message %q)",
				pollTimeout, upload.Attempts, upload.Message)
		}
		for _, p := range pods {
			if killed != "" || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			last, err := moverLog(ctx, app, p.Name)
			if err != nil || last.Progress == nil || last.Result != nil || last.Error != "" {
				continue // not uploading yet, or no longer
			}
			if pr := last.Progress; pr.BytesUploaded == 0 || pr.BytesHashed < bigMiB<<20/16 || pr.BytesHashed >= bigMiB<<20 {
				continue // kill it well into the big file, with data on the Location
			}
			uid := p.UID
			if err := env.kube.CoreV1().Pods(app).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
				return fmt.Errorf("kill mover pod %s: %w", p.Name, err)
			}
			killed, killedAt, killTime = uid, last, time.Now()
		}
		return nil
	})

	if killed == "" {
		t.Fatal("the mover pod was never seen uploading, so it was not killed")
	}
	t.Logf("killed the mover at %+v", *killedAt.Progress)
	mustSucceed(t, done)
	upload := phaseRecord(t, done, "upload")
	if upload.Attempts != 2 {
		t.Errorf("phase upload took %d attempts, want 2: the killed one and its retry", upload.Attempts)
	}
	if len(movers) != 2 {
		t.Errorf("saw %d mover pods, want 2: the killed one and a fresh one", len(movers))
	}
	var exports []struct {
		SnapshotID string `json:"snapshotID"`
		BytesTotal int64  `json:"bytesTotal"`
	}
	phaseOutput(t, done, "upload", "exports", &exports)
	if len(exports) != 1 || exports[0].SnapshotID == "" || exports[0].BytesTotal < bigMiB<<20 {
		t.Fatalf("exports = %+v, want one snapshot of at least %d MiB", exports, bigMiB)
	}
	if left := moverLeftovers(t, app, sets); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}

	restored := "exp-fault-killed-restored" // the restore creates it
	t.Cleanup(func() {
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), restored, metav1.DeleteOptions{})
	})
	restore := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: sets, Name: "killed-restore"},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "restore",
			Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: restored, Name: "basic-app"},
			Location:  &v1alpha1.LocalObjectReference{Name: "killed"},
			Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: "killed-backup"},
			Params:    jsonArgs(t, `{"restoreFrom": "export", "verifyPercent": 100}`),
		},
	}
	if err := c.Create(t.Context(), restore); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, watchRun(t, c, client.ObjectKeyFromObject(restore), nil))
	if got := claimSum(t, restored, "data", "/data/big"); got != sum {
		t.Errorf("sha256 of the restored file %s, want the original's %s", got, sum)
	}
	if left := moverLeftovers(t, restored, sets); len(left) > 0 {
		t.Errorf("left behind by the restore: %v", left)
	}
	noSecretsLeaked(t, []string{repoPassword, key}, nil, sets, app, restored)
}

// progressMoves watches a backup's status while its upload runs: the
// progress takes several values between 0 and 100 and never goes back.
func progressMoves(t *testing.T, c client.Client, sets string) {
	app := namespace(t, "exp-fault-progress")
	bigApp(t, app)
	azureLocation(t, c, sets, "progress")
	createBackup(t, c, sets, "progress-backup", app, "progress")

	var seen []v1alpha1.Progress // while the upload ran, in order, without repeats
	var backwards []string
	var last v1alpha1.Progress
	done := watchRun(t, c, client.ObjectKey{Namespace: sets, Name: "progress-backup"}, func(_ context.Context, as *v1alpha1.ActionSet) error {
		p := as.Status.Progress
		if p.Percent < last.Percent {
			backwards = append(backwards, fmt.Sprintf("%d%% then %d%% in phase %s", last.Percent, p.Percent, as.Status.CurrentPhase))
		}
		last = p
		if as.Status.CurrentPhase == "upload" && (len(seen) == 0 || seen[len(seen)-1] != p) {
			seen = append(seen, p)
		}
		return nil
	})

	mustSucceed(t, done)
	t.Logf("progress during the upload: %+v", seen)
	var percents []int32
	for _, p := range seen {
		if p.Percent > 0 && p.Percent < 100 && !slices.Contains(percents, p.Percent) {
			percents = append(percents, p.Percent)
		}
	}
	if len(percents) < 3 {
		t.Errorf("status.progress.percent took %d distinct values between 0 and 100 during the upload (%v), want at least 3", len(percents), percents)
	}
	if !slices.ContainsFunc(seen, func(p v1alpha1.Progress) bool { return p.BytesDone > 0 && p.BytesDone < p.BytesTotal }) {
		t.Errorf("status.progress never showed bytes part done during the upload: %+v", seen)
	}
	if len(backwards) > 0 {
		t.Errorf("progress went back: %v", backwards)
	}
	if done.Status.Progress.Percent != 100 {
		t.Errorf("final progress %d%%, want 100", done.Status.Progress.Percent)
	}
}

// closedPort returns a local host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// bigApp deploys basic-app into ns and writes bigMiB of random data into
// its volume beside its own file; it returns the app's pod and the data's
// sha256.
func bigApp(t *testing.T, ns string) (pod, sum string) {
	t.Helper()
	pod = basicApp(t, ns, env.c.StorageClass)
	script := fmt.Sprintf("head -c %dM /dev/urandom > /data/big && sha256sum /data/big", bigMiB)
	out := strings.Fields(kubectl(t, "exec", "-n", ns, pod, "-c", "app", "--", "sh", "-c", script))
	if len(out) == 0 {
		t.Fatal("sha256sum printed nothing")
	}
	return pod, out[0]
}

// watchRun polls the ActionSet every 100ms until it reaches a final state
// or faultRunTimeout passes, calling each (if not nil) on every
// observation before the final one; it returns the final ActionSet.
func watchRun(t *testing.T, c client.Client, key client.ObjectKey, each func(context.Context, *v1alpha1.ActionSet) error) *v1alpha1.ActionSet {
	t.Helper()
	as := &v1alpha1.ActionSet{}
	ctx, cancel := context.WithTimeout(t.Context(), faultRunTimeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, as); err != nil {
			return false, err
		}
		if as.Status.State.Final() {
			return true, nil
		}
		if each == nil {
			return false, nil
		}
		return false, each(ctx, as)
	})
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("not final within %s", faultRunTimeout)
	}
	if err != nil {
		t.Fatalf("ActionSet %s: %v (state %s, phase %s, %s)", key, err, as.Status.State, as.Status.CurrentPhase, as.Status.Message)
	}
	return as
}

// phaseRecord returns the status record of one phase of as.
func phaseRecord(t *testing.T, as *v1alpha1.ActionSet, name string) v1alpha1.PhaseStatus {
	t.Helper()
	for _, p := range as.Status.Phases {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no phase %s in %s", name, as.Name)
	return v1alpha1.PhaseStatus{}
}

// moverSelector selects the mover pods and credentials copies that export
// and restore create.
var moverSelector = functions.LabelFunction + "=mover"

func moverPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	list, err := env.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: moverSelector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// moverLeftovers lists the mover pods and credentials Secrets in the
// namespaces: the claims' (export, restore) and the ActionSets' (the
// restore point's record).
func moverLeftovers(t *testing.T, namespaces ...string) []string {
	t.Helper()
	var out []string
	for _, ns := range namespaces {
		pods, err := moverPods(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		secrets, err := env.kube.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: moverSelector})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			out = append(out, "Pod "+ns+"/"+p.Name)
		}
		for _, s := range secrets.Items {
			out = append(out, "Secret "+ns+"/"+s.Name)
		}
	}
	return out
}

// moverLog returns the last protocol line a mover pod has written.
func moverLog(ctx context.Context, ns, pod string) (mover.Line, error) {
	raw, err := env.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "mover"}).DoRaw(ctx)
	if err != nil {
		return mover.Line{}, err
	}
	var last mover.Line
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var l mover.Line
		if json.Unmarshal(sc.Bytes(), &l) == nil && (l.Progress != nil || l.Result != nil || l.Error != "") {
			last = l
		}
	}
	return last, sc.Err()
}

// claimSum runs a pod that mounts claim in ns and returns the sha256 of
// file in it.
func claimSum(t *testing.T, ns, claim, file string) string {
	t.Helper()
	pods := env.kube.CoreV1().Pods(ns)
	if _, err := pods.Create(t.Context(), shellPod("sum", claim, true, "sha256sum "+file), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pod sum in "+ns+" finished", func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, "sum", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("pod failed: %s", podLogText(ctx, ns, "sum"))
		}
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
	out := strings.Fields(podLogText(t.Context(), ns, "sum"))
	if len(out) == 0 {
		t.Fatalf("sha256sum %s in %s printed nothing", file, ns)
	}
	return out[0]
}

// podLogText is a pod's log, or the error reading it.
func podLogText(ctx context.Context, ns, pod string) string {
	raw, err := env.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return "log unavailable: " + err.Error()
	}
	return string(raw)
}
