package plugin

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
	ktesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// now is the fake clock's time in every test.
var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type fakeFactory struct {
	ns  string
	dyn dynamic.Interface
}

func (f fakeFactory) Namespace() (string, error)          { return f.ns, nil }
func (f fakeFactory) Dynamic() (dynamic.Interface, error) { return f.dyn, nil }

// newFakeClient is a fake dynamic client holding objs that, like the
// apiserver, names created objects from their generateName.
func newFakeClient(t *testing.T, objs ...runtime.Object) *fake.FakeDynamicClient {
	t.Helper()
	c := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		actionSetsGVR: "ActionSetList",
		eventsGVR:     "EventList",
	}, objs...)
	c.PrependReactor("create", "actionsets", func(a ktesting.Action) (bool, runtime.Object, error) {
		u := a.(ktesting.CreateAction).GetObject().(*unstructured.Unstructured)
		if u.GetName() == "" {
			u.SetName(u.GetGenerateName() + "abcde")
		}
		return false, nil, nil
	})
	return c
}

// toUnstructured converts a typed object for the fake client.
func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// actionSet is a typed ActionSet with its type meta, in namespace ns.
func actionSet(name string, spec v1alpha1.ActionSetSpec, status v1alpha1.ActionSetStatus) *v1alpha1.ActionSet {
	return &v1alpha1.ActionSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "snapflow.dev/v1alpha1", Kind: "ActionSet"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Spec:       spec,
		Status:     status,
	}
}

// result is what a command run printed and returned.
type result struct {
	Code   int
	Out    string
	ErrOut string
}

// runCmd runs kubectl-snapflow args against client in namespace shop.
func runCmd(t *testing.T, client dynamic.Interface, args ...string) result {
	t.Helper()
	return newRunner(t, client)(args...)
}

// newRunner returns a function that runs kubectl-snapflow against client
// in namespace shop; unlike runCmd, it may be called from any goroutine.
func newRunner(t *testing.T, client dynamic.Interface) func(args ...string) result {
	t.Helper()
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	appDeps, err := cli.NewDeps(reg, clocktesting.NewFakePassiveClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return func(args ...string) result {
		var out, errOut bytes.Buffer
		streams := cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
		deps := Deps{
			Factory: fakeFactory{ns: "shop", dyn: client},
			App:     appDeps,
			Clock:   clocktesting.NewFakeClock(now),
		}
		code := Run(context.Background(), NewCmdRoot(deps, streams), args, &errOut)
		return result{Code: code, Out: out.String(), ErrOut: errOut.String()}
	}
}

// listActionSets reads back every ActionSet in namespace shop.
func listActionSets(t *testing.T, client dynamic.Interface) []v1alpha1.ActionSet {
	t.Helper()
	list, err := client.Resource(actionSetsGVR).Namespace("shop").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []v1alpha1.ActionSet
	for i := range list.Items {
		as, err := fromUnstructured(&list.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *as)
	}
	return out
}

func js(s string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(s)} }

func TestBackupFake(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want v1alpha1.ActionSet
	}{{
		name: "deployment with location and typed params",
		args: []string{"backup", "deploy/basic-app", "--blueprint", "basic-app", "--location", "s3",
			"--param", "retries=3", "--param", "tables=[orders, users]", "--param", "dryRun=true",
			"--param", "label=v1", "--param", "opts={level: 9}", "--param", "empty="},
		want: v1alpha1.ActionSet{
			ObjectMeta: metav1.ObjectMeta{Name: "basic-app-backup-abcde", GenerateName: "basic-app-backup-", Namespace: "shop"},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: "basic-app"},
				Action:    "backup",
				Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "basic-app"},
				Location:  &v1alpha1.LocalObjectReference{Name: "s3"},
				Params: map[string]apiextensionsv1.JSON{
					"retries": js(`3`),
					"tables":  js(`["orders","users"]`),
					"dryRun":  js(`true`),
					"label":   js(`"v1"`),
					"opts":    js(`{"level":9}`),
					"empty":   js(`""`),
				},
			},
		},
	}, {
		name: "statefulset.apps with another action and blueprint namespace",
		args: []string{"backup", "statefulsets.apps/db", "--blueprint", "postgres", "--blueprint-namespace", "snapflow", "--action", "dump"},
		want: v1alpha1.ActionSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db-dump-abcde", GenerateName: "db-dump-", Namespace: "shop"},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: "postgres", Namespace: "snapflow"},
				Action:    "dump",
				Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"},
			},
		},
	}, {
		name: "pvc",
		args: []string{"backup", "pvc/data", "--blueprint", "volume"},
		want: v1alpha1.ActionSet{
			ObjectMeta: metav1.ObjectMeta{Name: "data-backup-abcde", GenerateName: "data-backup-", Namespace: "shop"},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: "volume"},
				Action:    "backup",
				Object:    v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "shop", Name: "data"},
			},
		},
	}, {
		name: "cluster-scoped namespace has no namespace",
		args: []string{"backup", "ns/shop", "--blueprint", "namespace"},
		want: v1alpha1.ActionSet{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-backup-abcde", GenerateName: "shop-backup-", Namespace: "shop"},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: "namespace"},
				Action:    "backup",
				Object:    v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: "shop"},
			},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFakeClient(t)
			got := runCmd(t, client, tc.args...)
			want := result{Code: 0, Out: tc.want.Name + "\n"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("run (-want +got):\n%s", diff)
			}
			tc.want.TypeMeta = metav1.TypeMeta{APIVersion: "snapflow.dev/v1alpha1", Kind: "ActionSet"}
			if diff := cmp.Diff([]v1alpha1.ActionSet{tc.want}, listActionSets(t, client)); diff != "" {
				t.Errorf("created ActionSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackupUsageErrorsFake(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{{
		name: "no type",
		args: []string{"backup", "basic-app", "--blueprint", "b"},
		want: `error: want TYPE/NAME, e.g. deployment/my-app, got "basic-app"`,
	}, {
		name: "no name",
		args: []string{"backup", "deploy/", "--blueprint", "b"},
		want: `error: want TYPE/NAME, e.g. deployment/my-app, got "deploy/"`,
	}, {
		name: "too many slashes",
		args: []string{"backup", "deploy/a/b", "--blueprint", "b"},
		want: `error: want TYPE/NAME, e.g. deployment/my-app, got "deploy/a/b"`,
	}, {
		name: "unknown type",
		args: []string{"backup", "svc/web", "--blueprint", "b"},
		want: `error: unknown resource type "svc" in "svc/web"; use one of deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job, pod (po), persistentvolumeclaim (pvc), namespace (ns), deploymentconfig (dc)`,
	}, {
		name: "wrong group",
		args: []string{"backup", "deployments.batch/web", "--blueprint", "b"},
		want: `error: unknown resource type "deployments.batch" in "deployments.batch/web"; use one of deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job, pod (po), persistentvolumeclaim (pvc), namespace (ns), deploymentconfig (dc)`,
	}, {
		name: "no blueprint",
		args: []string{"backup", "deploy/web"},
		want: `error: --blueprint is required`,
	}, {
		name: "bad param",
		args: []string{"backup", "deploy/web", "--blueprint", "b", "--param", "novalue"},
		want: `error: --param "novalue": want name=value`,
	}, {
		name: "bad param yaml",
		args: []string{"backup", "deploy/web", "--blueprint", "b", "--param", "x=[a, b"},
		want: `error: --param x: not a YAML value: yaml: line 1: did not find expected ',' or ']'`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFakeClient(t)
			got := runCmd(t, client, tc.args...)
			want := result{Code: ExitUsage, ErrOut: tc.want + "\nRun 'kubectl snapflow backup --help' for usage.\n"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
			if n := len(listActionSets(t, client)); n != 0 {
				t.Errorf("created %d ActionSets, want none", n)
			}
		})
	}
}

// finalOnGet makes every get of an ActionSet return it with status.
func finalOnGet(t *testing.T, client *fake.FakeDynamicClient, status v1alpha1.ActionSetStatus) {
	client.PrependReactor("get", "actionsets", func(a ktesting.Action) (bool, runtime.Object, error) {
		name := a.(ktesting.GetAction).GetName()
		as := actionSet(name, v1alpha1.ActionSetSpec{Action: "backup"}, status)
		return true, toUnstructured(t, as), nil
	})
}

func TestBackupWaitFake(t *testing.T) {
	cases := []struct {
		name   string
		status v1alpha1.ActionSetStatus
		want   result
	}{{
		name:   "succeeded",
		status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetSucceeded, Progress: v1alpha1.Progress{Percent: 100, BytesDone: 3 << 30, BytesTotal: 3 << 30}},
		want: result{
			Code:   ExitOK,
			Out:    "web-backup-abcde\n",
			ErrOut: "Succeeded  100%  3.0 GiB / 3.0 GiB\nactionset web-backup-abcde succeeded\n",
		},
	}, {
		name: "failed",
		status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetFailed, Progress: v1alpha1.Progress{Percent: 40}, Phases: []v1alpha1.PhaseStatus{
			{Name: "snap", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseSucceeded},
			{Name: "copy", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseFailed, Message: "mover pod exited 1"},
			{Name: "cleanup", Stage: v1alpha1.PhaseStageFinally, State: v1alpha1.PhaseSucceeded},
		}},
		want: result{
			Code:   ExitFailed,
			Out:    "web-backup-abcde\n",
			ErrOut: "Failed  40%\nerror: actionset web-backup-abcde failed in phase copy: mover pod exited 1\n",
		},
	}, {
		name:   "cancelled",
		status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetCancelled, Message: "cancelled by user"},
		want: result{
			Code:   ExitFailed,
			Out:    "web-backup-abcde\n",
			ErrOut: "Cancelled  0%\nerror: actionset web-backup-abcde was cancelled: cancelled by user\n",
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFakeClient(t)
			finalOnGet(t, client, tc.status)
			got := runCmd(t, client, "backup", "deploy/web", "--blueprint", "b", "--wait")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackupWaitWatchFake(t *testing.T) {
	client := newFakeClient(t)
	w := watch.NewFake()
	watched := make(chan struct{})
	var once sync.Once
	client.PrependWatchReactor("actionsets", func(ktesting.Action) (bool, watch.Interface, error) {
		once.Do(func() { close(watched) })
		return true, w, nil
	})
	run := newRunner(t, client)
	done := make(chan result)
	go func() {
		done <- run("backup", "deploy/web", "--blueprint", "b", "--wait", "--timeout", "20s")
	}()
	select {
	case <-watched:
	case <-time.After(10 * time.Second):
		t.Fatal("the ActionSet was not watched")
	}
	// Play the controller: report progress, then success.
	u, err := client.Resource(actionSetsGVR).Namespace("shop").Get(context.Background(), "web-backup-abcde", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []v1alpha1.ActionSetStatus{
		{State: v1alpha1.ActionSetRunning, CurrentPhase: "copy", Progress: v1alpha1.Progress{Percent: 45, BytesDone: 1288490189, BytesTotal: 2899102925}},
		{State: v1alpha1.ActionSetSucceeded, Progress: v1alpha1.Progress{Percent: 100, BytesDone: 2899102925, BytesTotal: 2899102925}},
	} {
		as, err := fromUnstructured(u)
		if err != nil {
			t.Fatal(err)
		}
		as.Status = st
		w.Modify(toUnstructured(t, as))
	}
	got := <-done
	want := result{
		Code: ExitOK,
		Out:  "web-backup-abcde\n",
		ErrOut: "Pending\n" +
			"Running  phase copy  45%  1.2 GiB / 2.7 GiB\n" +
			"Succeeded  100%  2.7 GiB / 2.7 GiB\n" +
			"actionset web-backup-abcde succeeded\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
}

func TestBackupWaitTimeoutFake(t *testing.T) {
	client := newFakeClient(t)
	got := runCmd(t, client, "backup", "deploy/web", "--blueprint", "b", "--wait", "--timeout", "100ms")
	want := result{
		Code:   ExitFailed,
		Out:    "web-backup-abcde\n",
		ErrOut: "Pending\nerror: timed out after 100ms waiting for actionset web-backup-abcde\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
}
