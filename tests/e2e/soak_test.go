//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// soakRunsEnv sets how many backup-and-restore runs TestSoak makes; unset,
// it is skipped, so `make test` leaves it to `make soak`.
const soakRunsEnv = "SNAPFLOW_SOAK_RUNS"

// soakTally is what the soak counts.
type soakTally struct {
	runs, kills, failpointKills, timedKills          int
	restorePoints, lost, duplicates, orphans, frozen int
	scaledDown, snapshotsExtra, badRestores          int
}

func (s soakTally) String() string {
	return fmt.Sprintf("runs %d, kills %d (%d at a crash point, %d at a random time); restore points %d: lost %d, duplicates %d, orphaned kopia snapshots %d; extra VolumeSnapshots %d; apps left frozen %d, scaled down %d; restores with wrong data %d",
		s.runs, s.kills, s.failpointKills, s.timedKills, s.restorePoints, s.lost, s.duplicates, s.orphans,
		s.snapshotsExtra, s.frozen, s.scaledDown, s.badRestores)
}

// TestSoak runs backups and restores of basic-app with the controller
// killed (SIGKILL) at random: at a random crash point of the action, or
// after a random time, or not at all. Every run must complete and leave
// exactly one restore point and one VolumeSnapshot, the app unfrozen and
// scaled back, and a restore with the exported bytes. It prints the
// tally; any count but runs, kills and restore points above 0 fails it.
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(soakRunsEnv))
	if n <= 0 {
		t.Skipf("set %s to run it (make soak)", soakRunsEnv)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("seed %d", seed)
	c := startController(t) // for its client; it does not watch the namespace
	ns := namespace(t, "soak")
	_, sum, repoDir := sideEffectsSetup(t, c, ns)

	var tally soakTally
	defer func() { t.Log(tally) }()
	for i := range n {
		quiesce := "exec"
		if rng.IntN(5) == 0 {
			quiesce = "scale"
		}
		backup := sideEffectsBackup(t, ns, fmt.Sprintf("backup-%d", i), quiesce)
		soakRun(t, c, backup, soakChaos(rng, "backup", quiesce), &tally)
		soakBackupCounts(t, ns, repoDir, i+1, &tally)

		restoreNS := fmt.Sprintf("soak-r-%d", i)
		restore := sideEffectsRestore(ns, fmt.Sprintf("restore-%d", i), backup.Name, restoreNS)
		soakRun(t, c, restore, soakChaos(rng, "restore", quiesce), &tally)
		if got := claimSum(t, restoreNS, "data", "/data/static.bin"); got != sum {
			tally.badRestores++
			t.Errorf("run %d restored static.bin with sha256 %s, want %s", i, got, sum)
		}
		_ = env.kube.CoreV1().Namespaces().Delete(t.Context(), restoreNS, metav1.DeleteOptions{})
		tally.runs++
		if t.Failed() {
			return
		}
		if tally.runs%10 == 0 {
			t.Log(tally)
		}
	}
}

// soakKill is where a soak run kills the controller: at a crash point, or
// after a time, or (both zero) not at all.
type soakKill struct {
	point string
	after time.Duration
}

// soakChaos picks a kill for one action: a third at a crash point on its
// path, a third after up to 8s, a third none.
func soakChaos(rng *rand.Rand, action, quiesce string) soakKill {
	points := map[string][]string{
		"backup":  {failpoint.SnapshotCreated, failpoint.CloneCreated, failpoint.ExportUploading, failpoint.RestorePointRecorded},
		"restore": {failpoint.RestoreMoving},
	}[action]
	if action == "backup" {
		points = append(points, map[string]string{"exec": failpoint.QuiesceFrozen, "scale": failpoint.QuiesceScaled}[quiesce])
	}
	switch rng.IntN(3) {
	case 0:
		return soakKill{point: points[rng.IntN(len(points))]}
	case 1:
		return soakKill{after: time.Duration(rng.Int64N(int64(8 * time.Second)))}
	}
	return soakKill{}
}

// soakRun runs as under a controller killed as kill says, then under a
// fresh one until it ends; it must succeed.
func soakRun(t *testing.T, c client.Client, as *v1alpha1.ActionSet, kill soakKill, tally *soakTally) {
	t.Helper()
	var environ []string
	if kill.point != "" {
		environ = append(environ, failpoint.EnvVar+"="+kill.point)
	}
	p := startControllerProcess(t, as.Namespace, environ...)
	if kill.after > 0 {
		p.killedAnyTime = true
		timer := time.AfterFunc(kill.after, func() { _ = p.cmd.Process.Kill() })
		defer timer.Stop()
	}
	if err := c.Create(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(as)
	eventually(t, "ActionSet "+key.String()+" ends or its controller dies", func(ctx context.Context) (bool, error) {
		if ended, _ := p.ended(); ended {
			return true, nil
		}
		got := &v1alpha1.ActionSet{}
		if err := c.Get(ctx, key, got); err != nil {
			return false, err
		}
		return got.Status.State.Final(), nil
	})
	if ended, killed := p.ended(); ended {
		if !killed {
			t.Fatalf("the controller exited (%s) instead of being killed", p.cmd.ProcessState)
		}
		tally.kills++
		if kill.point != "" {
			tally.failpointKills++
		} else {
			tally.timedKills++
		}
		p = startControllerProcess(t, as.Namespace)
	}
	defer p.kill(t)
	mustSucceed(t, finished(t, c, as.Namespace, as.Name))
}

// soakBackupCounts adds to tally what the Location and the namespace hold
// after backup number runs.
func soakBackupCounts(t *testing.T, ns, repoDir string, runs int, tally *soakTally) {
	t.Helper()
	rps, orphans := repositoryContents(t, repoDir)
	perRun := map[string]int{}
	for _, rp := range rps {
		perRun[rp.Run]++
	}
	tally.restorePoints = len(rps)
	tally.orphans = len(orphans)
	tally.lost = runs - len(perRun)
	tally.duplicates = len(rps) - len(perRun)
	tally.snapshotsExtra = countSnapshots(t, ns) - runs
	d, err := env.kube.AppsV1().Deployments(ns).Get(t.Context(), "basic-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		tally.scaledDown++
	} else if pod := appPod(t, ns); appFrozen(t, ns, pod) {
		tally.frozen++
	}
	if tally.lost != 0 || tally.duplicates != 0 || tally.orphans != 0 || tally.snapshotsExtra != 0 || tally.frozen != 0 || tally.scaledDown != 0 {
		t.Errorf("after backup %d: %s", runs, tally)
	}
}
