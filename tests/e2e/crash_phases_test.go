//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// sideEffectsBlueprint runs every phase that changes something outside
// the controller: a quiesce (exec freeze or scale to 0, by param), a
// snapshot, a read-only clone, an export that records the restore point;
// and a restore from that export.
const sideEffectsBlueprint = `
metadata: {name: side-effects}
spec:
  params:
    quiesce: {type: string, default: exec}
  actions:
    backup:
      phases:
      - name: freeze
        func: quiesce
        when: params.quiesce == 'exec'
        args:
          mode: exec
          namespace: "${{ workload.namespace }}"
          pod: "${{ workload.pods[0].name }}"
          command: ["sh", "-c", "touch /run/basic-app/freeze; until [ -e /run/basic-app/frozen ]; do sleep 0.2; done"]
          releaseCommand: ["rm", "-f", "/run/basic-app/freeze"]
      - name: scaleDown
        func: quiesce
        when: params.quiesce == 'scale'
        args: {mode: scale, namespace: "${{ workload.namespace }}", kind: "${{ workload.kind }}", name: "${{ workload.name }}"}
      - name: snap
        func: snapshot
        args: {namespace: "${{ workload.namespace }}", pvcs: "${{ workload.pvcs.map(p, p.name) }}"}
      - name: clone
        func: cloneReadOnly
        args: {snapshots: "${{ phases.snap.snapshots }}"}
      - name: upload
        func: export
        args: {pvcs: "${{ phases.clone.pvcs }}", location: "${{ location.name }}", artifacts: "${{ {'snapshots': phases.snap.snapshots} }}"}
      outputs:
        snapshots: "${{ phases.snap.snapshots }}"
        exports: "${{ phases.upload.exports }}"
    restore:
      phases:
      - name: volumes
        func: restore
        args:
          snapshots: "${{ artifacts.snapshots }}"
          namespace: "${{ workload.namespace }}"
          from: export
          exports: "${{ artifacts.exports }}"
          location: "${{ location.name }}"
          verifyPercent: 100.0
`

// sideEffectCrash is one point to kill the controller at, in the backup
// or the restore, and the phases that rightly run twice because of it: a
// resumed run whose quiesce hold was pending re-takes it (see
// engine/run/requiesce.go) rather than claim a freeze it lost. With term
// the controller gets SIGTERM there instead, as in a rolling update.
type sideEffectCrash struct {
	point, quiesce, action string
	twice                  []string
	term                   bool
}

func (c sideEffectCrash) name() string {
	if c.term {
		return c.point + " SIGTERM"
	}
	return c.point
}

var sideEffectCrashes = []sideEffectCrash{
	{failpoint.QuiesceFrozen, "exec", "backup", []string{"freeze"}, false},
	{failpoint.QuiesceScaled, "scale", "backup", []string{"scaleDown"}, false},
	{failpoint.SnapshotCreated, "exec", "backup", []string{"freeze", "snap"}, false},
	{failpoint.CloneCreated, "exec", "backup", []string{"clone"}, false},
	{failpoint.ExportUploading, "exec", "backup", []string{"upload"}, false},
	{failpoint.RestorePointRecorded, "exec", "backup", []string{"upload"}, false},
	{failpoint.RestoreMoving, "exec", "restore", []string{"volumes"}, false},
	// A stopping controller leaves the snapshots, clone and mover it made
	// for the next one, instead of rolling back or cleaning up.
	{failpoint.SnapshotCreated, "exec", "backup", []string{"freeze", "snap"}, true},
	{failpoint.ExportUploading, "exec", "backup", []string{"upload"}, true},
}

// staticMiB is the size of the file whose bytes the restore must bring
// back exactly; large enough that the movers report progress before they
// are done.
const staticMiB = 64

// TestCrashInsideSideEffects kills the controller (SIGKILL, at a crash
// point it hits itself, so the place is exact) inside each phase that
// changes the world, then starts it again. Every run completes, and
// nothing is lost or repeated: one VolumeSnapshot of the claim, one clone
// (deleted at the end), one kopia snapshot and one restore point on the
// Location, no mover left, the app neither frozen nor scaled down, each
// phase run once (twice where the crash interrupted it), and the restore
// brings back the exported bytes.
func TestCrashInsideSideEffects(t *testing.T) {
	c := startController(t) // for its client; it does not watch these namespaces
	for _, tc := range sideEffectCrashes {
		t.Run(tc.name(), func(t *testing.T) {
			t.Parallel()
			crashInside(t, c, tc)
		})
	}
}

func crashInside(t *testing.T, c client.Client, tc sideEffectCrash) {
	ns := namespace(t, "crash-"+strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(tc.name())))
	restoreNS := ns + "-r"
	t.Cleanup(func() {
		_ = env.kube.CoreV1().Namespaces().Delete(context.Background(), restoreNS, metav1.DeleteOptions{})
	})
	pod, sum, repoDir := sideEffectsSetup(t, c, ns)
	crashAt := func(action string) string {
		switch {
		case tc.action != action:
			return ""
		case tc.term:
			return failpoint.EnvVar + "=" + tc.point + failpoint.Term
		}
		return failpoint.EnvVar + "=" + tc.point
	}
	done := runThroughCrash(t, c, sideEffectsBackup(t, ns, "backup", tc.quiesce), crashAt("backup"))
	checkAttempts(t, done, tc.twice)
	checkBackupCounts(t, ns, pod, tc.quiesce, repoDir)
	lines := appLines(t, ns, appPod(t, ns))

	done = runThroughCrash(t, c, sideEffectsRestore(ns, "restore", "backup", restoreNS), crashAt("restore"))
	checkAttempts(t, done, tc.twice)
	if got := claimSum(t, restoreNS, "data", "/data/static.bin"); got != sum {
		t.Errorf("restored static.bin has sha256 %s, want the original's %s", got, sum)
	}
	if left := moverLeftovers(t, ns, restoreNS); len(left) > 0 {
		t.Errorf("left after the restore: %v", left)
	}
	checkRestoredLog(t, restoreNS, lines)
}

// sideEffectsSetup deploys basic-app in ns with a file of random bytes
// beside its log, the side-effects blueprint and a filesystem Location
// "loc"; it returns the app's pod, the file's sha256 and the Location's
// directory.
func sideEffectsSetup(t *testing.T, c client.Client, ns string) (pod, sum, repoDir string) {
	t.Helper()
	pod = basicApp(t, ns, env.c.StorageClass)
	kubectl(t, "exec", "-n", ns, pod, "-c", "app", "--", "sh", "-c",
		fmt.Sprintf("head -c %dM /dev/urandom > /data/static.bin && sync", staticMiB))
	sum = strings.Fields(kubectl(t, "exec", "-n", ns, pod, "-c", "app", "--", "sha256sum", "/data/static.bin"))[0]
	if err := c.Create(t.Context(), blueprint(t, ns, sideEffectsBlueprint)); err != nil {
		t.Fatal(err)
	}
	repoDir = t.TempDir()
	filesystemLocation(t, c, ns, "loc", repoDir, repoPassword)
	return pod, sum, repoDir
}

// sideEffectsBackup is the side-effects backup of basic-app in ns.
func sideEffectsBackup(t *testing.T, ns, name, quiesce string) *v1alpha1.ActionSet {
	return &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "side-effects"}, Action: "backup",
			Object:   v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "basic-app"},
			Location: &v1alpha1.LocalObjectReference{Name: "loc"},
			Params:   jsonArgs(t, fmt.Sprintf(`{"quiesce": %q}`, quiesce)),
		},
	}
}

// sideEffectsRestore restores the backup ActionSet from into namespace to.
func sideEffectsRestore(ns, name, from, to string) *v1alpha1.ActionSet {
	return &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: "side-effects"}, Action: "restore",
			Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: to, Name: "basic-app"},
			Location:  &v1alpha1.LocalObjectReference{Name: "loc"},
			Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: from},
		},
	}
}

// runThroughCrash runs as under a controller that crashes at crash (none
// when empty; with failpoint.Term it shuts down cleanly there), then under
// a fresh one, and returns it succeeded. No controller of it is left
// running, so the next run's is the only one.
func runThroughCrash(t *testing.T, c client.Client, as *v1alpha1.ActionSet, crash string) *v1alpha1.ActionSet {
	t.Helper()
	key := client.ObjectKeyFromObject(as)
	if crash != "" {
		first := startControllerProcess(t, as.Namespace, crash)
		if err := c.Create(t.Context(), as); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the controller crashes at "+crash, func(ctx context.Context) (bool, error) {
			if ended, killed := first.ended(); ended {
				if term := strings.HasSuffix(crash, failpoint.Term); killed == term || (term && !first.cmd.ProcessState.Success()) {
					return false, fmt.Errorf("the controller ended %s; want it killed, or with SIGTERM exit 0", first.cmd.ProcessState)
				}
				return true, nil
			}
			got := &v1alpha1.ActionSet{}
			if err := c.Get(ctx, key, got); err != nil {
				return false, err
			}
			if got.Status.State.Final() {
				return false, fmt.Errorf("ActionSet %s ended %s without reaching the crash point", key, got.Status.State)
			}
			return false, nil
		})
		if got := (&v1alpha1.ActionSet{}); c.Get(t.Context(), key, got) == nil && got.Status.State.Final() {
			t.Fatalf("ActionSet %s is %s although the controller crashed inside it", key, got.Status.State)
		}
		defer startControllerProcess(t, as.Namespace).kill(t)
	} else {
		defer startControllerProcess(t, as.Namespace).kill(t)
		if err := c.Create(t.Context(), as); err != nil {
			t.Fatal(err)
		}
	}
	done := finished(t, c, as.Namespace, as.Name)
	mustSucceed(t, done)
	return done
}

// checkAttempts checks that each phase of as ran once, and those in twice
// twice.
func checkAttempts(t *testing.T, as *v1alpha1.ActionSet, twice []string) {
	t.Helper()
	for _, p := range as.Status.Phases {
		want := int32(1)
		if slices.Contains(twice, p.Name) {
			want = 2
		}
		if p.State == v1alpha1.PhaseSkipped {
			want = 0
		}
		if p.Attempts != want {
			t.Errorf("%s: phase %s (%s) ran %d times, want %d", as.Name, p.Name, p.State, p.Attempts, want)
		}
	}
}

// checkBackupCounts checks what a backup of basic-app in ns leaves: one
// VolumeSnapshot, the app's claim and no clone, no mover, the app running
// unfrozen with its replica back, and on the Location one restore point
// that lists every kopia snapshot there is.
func checkBackupCounts(t *testing.T, ns, pod, quiesce, repoDir string) {
	t.Helper()
	if n := countSnapshots(t, ns); n != 1 {
		t.Errorf("%d VolumeSnapshots in %s, want 1: one per claim per run", n, ns)
	}
	claims, err := env.kube.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pvc := range claims.Items {
		if pvc.DeletionTimestamp == nil {
			names = append(names, pvc.Name)
		}
	}
	if !slices.Equal(names, []string{"data"}) {
		t.Errorf("claims in %s after the backup: %v, want only data (the clone deleted, none doubled)", ns, names)
	}
	if left := moverLeftovers(t, ns); len(left) > 0 {
		t.Errorf("left after the backup: %v", left)
	}
	switch quiesce {
	case "exec":
		if appFrozen(t, ns, pod) {
			t.Error("basic-app is frozen after the backup")
		}
	case "scale":
		eventually(t, "basic-app back to 1 ready replica", func(ctx context.Context) (bool, error) {
			d, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "basic-app", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
				return false, fmt.Errorf("basic-app wants %v replicas after the backup, want 1", d.Spec.Replicas)
			}
			return d.Status.ReadyReplicas == 1, nil
		})
	}
	rps, orphans := repositoryContents(t, repoDir)
	if len(rps) != 1 || len(orphans) != 0 {
		t.Errorf("the Location holds %d restore points and %d kopia snapshots none lists; want 1 and 0", len(rps), len(orphans))
	}
}

// repositoryContents opens the filesystem repository at dir as another
// cluster would and returns its restore points and the kopia snapshots
// that none of them lists, however recent.
func repositoryContents(t *testing.T, dir string) ([]repository.RestorePoint, []string) {
	t.Helper()
	ctx := t.Context()
	spec := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: dir}
	st, err := repository.NewStorage(ctx, spec, repository.Credentials{Password: repoPassword}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	rep, err := repository.Connect(ctx, st, repoPassword, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close(ctx)
	rps, err := repository.ListRestorePoints(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	orphans, err := repository.Orphans(ctx, rep, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rps, orphans
}

// checkRestoredLog starts basic-app on the restored claim in ns and
// checks its date.txt begins with a prefix of original: what was written
// up to the snapshot, nothing else.
func checkRestoredLog(t *testing.T, ns string, original []string) {
	t.Helper()
	kubectlIn(t, basicAppDeployment(t, ns, 1), "apply", "-f", "-")
	got := appLines(t, ns, appPod(t, ns))
	k := 0
	for k < len(got) && k < len(original) && got[k] == original[k] {
		k++
	}
	if k == 0 {
		t.Fatalf("the restored date.txt starts %v, the original %v: nothing of it was restored", got[:min(len(got), 3)], original[:min(len(original), 3)])
	}
	for _, l := range got[k:] {
		if !parseTime(t, l).After(parseTime(t, original[k-1])) {
			t.Errorf("restored line %q after the common prefix is not newer than its last line %q: the restore mixed data", l, original[k-1])
			break
		}
	}
}
