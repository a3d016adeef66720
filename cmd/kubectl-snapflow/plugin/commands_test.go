package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ktesting "k8s.io/client-go/testing"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestCancelFake(t *testing.T) {
	as := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{Action: "backup"}, v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning})
	client := newFakeClient(t, toUnstructured(t, as))
	got := runCmd(t, client, "cancel", "web-backup-x7k2p")
	if diff := cmp.Diff(result{Out: "actionset/web-backup-x7k2p cancel requested\n"}, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	var patches []string
	for _, a := range client.Actions() {
		if p, ok := a.(ktesting.PatchAction); ok {
			if p.GetPatchType() != types.MergePatchType {
				t.Errorf("patch type %s, want %s", p.GetPatchType(), types.MergePatchType)
			}
			patches = append(patches, p.GetName()+" "+string(p.GetPatch()))
		}
	}
	if diff := cmp.Diff([]string{`web-backup-x7k2p {"spec":{"cancel":true}}`}, patches); diff != "" {
		t.Errorf("patches (-want +got):\n%s", diff)
	}
	stored := listActionSets(t, client)
	if len(stored) != 1 || !stored[0].Spec.Cancel || stored[0].Spec.Action != "backup" {
		t.Errorf("stored spec %+v, want cancel set and the rest kept", stored[0].Spec)
	}
}

func TestCancelMissingFake(t *testing.T) {
	got := runCmd(t, newFakeClient(t), "cancel", "nope")
	want := result{Code: ExitUsage, ErrOut: "error: cancel actionset nope: actionsets.snapflow.dev \"nope\" not found\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
}

func TestGetFake(t *testing.T) {
	a := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{Blueprint: v1alpha1.BlueprintReference{Name: "basic-app"}, Action: "backup"},
		v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, CurrentPhase: "copy", Progress: v1alpha1.Progress{Percent: 45}})
	b := actionSet("db-restore-q8d4z", v1alpha1.ActionSetSpec{Blueprint: v1alpha1.BlueprintReference{Name: "postgres"}, Action: "restore"},
		v1alpha1.ActionSetStatus{})
	b.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	client := newFakeClient(t, toUnstructured(t, a), toUnstructured(t, b))

	got := runCmd(t, client, "get")
	want := result{Out: `NAME               BLUEPRINT   ACTION    STATE     PHASE   PROGRESS   AGE
db-restore-q8d4z   postgres    restore   -         -       0%         3h
web-backup-x7k2p   basic-app   backup    Running   copy    45%        5m
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	got = runCmd(t, client, "get", "web-backup-x7k2p")
	want = result{Out: `NAME               BLUEPRINT   ACTION   STATE     PHASE   PROGRESS   AGE
web-backup-x7k2p   basic-app   backup   Running   copy    45%        5m
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get NAME (-want +got):\n%s", diff)
	}

	c := actionSet("db-backup-aaaaa", v1alpha1.ActionSetSpec{Blueprint: v1alpha1.BlueprintReference{Name: "postgres"}, Action: "backup"},
		v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetSucceeded, Progress: v1alpha1.Progress{Percent: 100}})
	c.Namespace = "other"
	got = runCmd(t, newFakeClient(t, toUnstructured(t, a), toUnstructured(t, c)), "get", "-A")
	want = result{Out: `NAMESPACE   NAME               BLUEPRINT   ACTION   STATE       PHASE   PROGRESS   AGE
other       db-backup-aaaaa    postgres    backup   Succeeded   -       100%       5m
shop        web-backup-x7k2p   basic-app   backup   Running     copy    45%        5m
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get -A (-want +got):\n%s", diff)
	}

	got = runCmd(t, newFakeClient(t), "get")
	if diff := cmp.Diff(result{ErrOut: "No actionsets found in namespace shop.\n"}, got); diff != "" {
		t.Errorf("get empty (-want +got):\n%s", diff)
	}
}

func TestLogsFake(t *testing.T) {
	as := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{Action: "backup"}, v1alpha1.ActionSetStatus{})
	as.UID = "uid-1"
	event := func(name, reason, msg string, at time.Duration, uid types.UID) *corev1.Event {
		return &corev1.Event{
			TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
			ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "shop"},
			InvolvedObject: corev1.ObjectReference{Kind: "ActionSet", Name: "web-backup-x7k2p", Namespace: "shop", UID: uid},
			Type:           corev1.EventTypeNormal,
			Reason:         reason,
			Message:        msg,
			LastTimestamp:  metav1.NewTime(now.Add(at)),
		}
	}
	other := event("e0", "Other", "about a pod", -time.Hour, "")
	other.InvolvedObject = corev1.ObjectReference{Kind: "Pod", Name: "web-0", Namespace: "shop"}
	client := newFakeClient(t, toUnstructured(t, as),
		toUnstructured(t, event("e2", "PhaseSucceeded", "phase snapshot succeeded", -4*time.Minute, "uid-1")),
		toUnstructured(t, event("e1", "PhaseStarted", "phase snapshot started", -5*time.Minute, "uid-1")),
		toUnstructured(t, event("e3", "PhaseStarted", "an earlier ActionSet of that name", -10*time.Minute, "uid-0")),
		toUnstructured(t, other),
	)
	got := runCmd(t, client, "logs", "web-backup-x7k2p")
	want := result{Out: `TIME                   TYPE     REASON           MESSAGE
2026-11-22T11:55:00Z   Normal   PhaseStarted     phase snapshot started
2026-11-22T11:56:00Z   Normal   PhaseSucceeded   phase snapshot succeeded
`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		in   int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {1288490189, "1.2 GiB"}, {3 << 40, "3.0 TiB"}, {1 << 62, "4.0 EiB"},
	}
	for _, tc := range cases {
		if got := humanBytes(tc.in); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	cases := []struct {
		name   string
		status v1alpha1.ActionSetStatus
		want   string
	}{
		{"new", v1alpha1.ActionSetStatus{}, "Pending"},
		{"pending", v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetPending}, "Pending"},
		{"running, no bytes", v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, CurrentPhase: "freeze", Progress: v1alpha1.Progress{Percent: 5}}, "Running  phase freeze  5%"},
		{"running, total unknown", v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, CurrentPhase: "copy", Progress: v1alpha1.Progress{Percent: 10, BytesDone: 700 << 20}}, "Running  phase copy  10%  700.0 MiB"},
		{"running", v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, CurrentPhase: "copy", Progress: v1alpha1.Progress{Percent: 45, BytesDone: 1288490189, BytesTotal: 2899102925}}, "Running  phase copy  45%  1.2 GiB / 2.7 GiB"},
		{"succeeded", v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetSucceeded, Progress: v1alpha1.Progress{Percent: 100, BytesDone: 2048, BytesTotal: 2048}}, "Succeeded  100%  2.0 KiB / 2.0 KiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := progressLine(&v1alpha1.ActionSet{Status: tc.status})
			if got != tc.want {
				t.Errorf("progressLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLiveLine(t *testing.T) {
	for _, tty := range []bool{true, false} {
		var b bytes.Buffer
		l := &liveLine{out: &b, tty: tty}
		for _, s := range []string{"Pending", "Running  1%", "Running  1%", "Running  2%"} {
			l.update(s)
		}
		l.done()
		want := "Pending\nRunning  1%\nRunning  2%\n"
		if tty {
			want = "\r\x1b[KPending\r\x1b[KRunning  1%\r\x1b[KRunning  2%\n"
		}
		if got := b.String(); got != want {
			t.Errorf("tty=%v: wrote %q, want %q", tty, got, want)
		}
	}
}

func TestParseWorkload(t *testing.T) {
	cases := []struct {
		in   string
		want v1alpha1.ObjectReference
	}{
		{"deploy/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns1", Name: "a"}},
		{"Deployment/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns1", Name: "a"}},
		{"deployments.apps/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns1", Name: "a"}},
		{"sts/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "ns1", Name: "a"}},
		{"statefulset/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "ns1", Name: "a"}},
		{"ds/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "DaemonSet", Namespace: "ns1", Name: "a"}},
		{"rs/a", v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns1", Name: "a"}},
		{"job/a", v1alpha1.ObjectReference{APIVersion: "batch/v1", Kind: "Job", Namespace: "ns1", Name: "a"}},
		{"po/a", v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "ns1", Name: "a"}},
		{"pvc/a", v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "ns1", Name: "a"}},
		{"ns/a", v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: "a"}},
		{"dc/a", v1alpha1.ObjectReference{APIVersion: "apps.openshift.io/v1", Kind: "DeploymentConfig", Namespace: "ns1", Name: "a"}},
	}
	for _, tc := range cases {
		got, err := parseWorkload(tc.in, "ns1")
		if err != nil {
			t.Errorf("parseWorkload(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseWorkload(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestLintAndPlanFake(t *testing.T) {
	got := runCmd(t, newFakeClient(t), "lint", "../../../blueprints")
	if got.Code != ExitOK || !strings.HasPrefix(got.ErrOut, "ok: ") {
		t.Errorf("lint blueprints: %+v", got)
	}
	got = runCmd(t, newFakeClient(t), "lint")
	// The same usage error and help pointer as `snapflow lint`.
	want := result{Code: ExitUsage, ErrOut: "error: name at least one blueprint file or directory\n" +
		"Run 'kubectl snapflow lint --help' for usage.\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lint with no paths (-want +got):\n%s", diff)
	}
	got = runCmd(t, newFakeClient(t), "plan", "../../../blueprints/preflight/blueprint.yaml", "--action", "check",
		"--object", "../../../examples/preflight/statefulset.yaml", "--param", "settle=30s")
	if got.Code != ExitOK || got.Out == "" {
		t.Errorf("plan: %+v", got)
	}
}

// TestHelp checks that every command has an example, and that help says
// kubectl snapflow.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	root := NewCmdRoot(Deps{Factory: fakeFactory{ns: "shop"}}, cli.IOStreams{Out: &out, ErrOut: &out})
	root.InitDefaultHelpCmd()
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			check(sub)
		}
		if c == root || c.Name() == "help" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		if !strings.Contains(c.Example, "kubectl snapflow ") && !strings.Contains(c.Example, "kubectl-snapflow ") {
			t.Errorf("%s Example does not say kubectl snapflow:\n%s", c.CommandPath(), c.Example)
		}
		if !strings.HasPrefix(c.CommandPath(), "kubectl snapflow ") {
			t.Errorf("command path %q does not start with kubectl snapflow", c.CommandPath())
		}
	}
	check(root)
	got := runCmd(t, newFakeClient(t), "logs", "--help")
	if !strings.Contains(got.Out, "later version") || !strings.Contains(got.Out, "kubectl snapflow logs NAME") {
		t.Errorf("logs --help:\n%s", got.Out)
	}
}
