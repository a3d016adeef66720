package plugin

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func backupSource(state v1alpha1.ActionSetState) *v1alpha1.ActionSet {
	return actionSet("db-backup-x7k2p", v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: "postgres", Namespace: "snapflow"},
		Action:    "backup",
		Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"},
		Location:  &v1alpha1.LocalObjectReference{Name: "s3"},
		Params:    map[string]apiextensionsv1.JSON{"retries": js(`3`), "mode": js(`"fast"`)},
	}, v1alpha1.ActionSetStatus{State: state, Artifacts: map[string]apiextensionsv1.JSON{"snapshot": js(`"snap-1"`)}})
}

func TestRestoreFake(t *testing.T) {
	restored := func(mutate func(*v1alpha1.ActionSet)) v1alpha1.ActionSet {
		as := v1alpha1.ActionSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "snapflow.dev/v1alpha1", Kind: "ActionSet"},
			ObjectMeta: metav1.ObjectMeta{Name: "db-restore-abcde", GenerateName: "db-restore-", Namespace: "shop"},
			Spec: v1alpha1.ActionSetSpec{
				Blueprint: v1alpha1.BlueprintReference{Name: "postgres", Namespace: "snapflow"},
				Action:    "restore",
				Object:    v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"},
				Location:  &v1alpha1.LocalObjectReference{Name: "s3"},
				Params:    map[string]apiextensionsv1.JSON{"retries": js(`3`), "mode": js(`"fast"`)},
				Artifacts: &v1alpha1.ArtifactsSource{FromActionSet: "db-backup-x7k2p"},
			},
		}
		if mutate != nil {
			mutate(&as)
		}
		return as
	}
	cases := []struct {
		name string
		args []string
		want v1alpha1.ActionSet
	}{{
		name: "in place",
		args: []string{"restore", "--from", "actionset/db-backup-x7k2p"},
		want: restored(nil),
	}, {
		name: "to another namespace with overrides",
		args: []string{"restore", "--from", "as/db-backup-x7k2p", "--to-namespace", "shop-copy", "--location", "gcs",
			"--param", "mode=slow", "--action", "clone"},
		want: restored(func(as *v1alpha1.ActionSet) {
			as.Name, as.GenerateName = "db-clone-abcde", "db-clone-"
			as.Spec.Action = "clone"
			as.Spec.Object.Namespace = "shop-copy"
			as.Spec.Location.Name = "gcs"
			as.Spec.Params["mode"] = js(`"slow"`)
		}),
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := backupSource(v1alpha1.ActionSetSucceeded)
			client := newFakeClient(t, toUnstructured(t, src))
			got := runCmd(t, client, tc.args...)
			if diff := cmp.Diff(result{Out: tc.want.Name + "\n"}, got); diff != "" {
				t.Fatalf("run (-want +got):\n%s", diff)
			}
			var created []v1alpha1.ActionSet
			for _, as := range listActionSets(t, client) {
				if as.Name != src.Name {
					created = append(created, as)
				}
			}
			if diff := cmp.Diff([]v1alpha1.ActionSet{tc.want}, created); diff != "" {
				t.Errorf("created ActionSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestoreErrorsFake(t *testing.T) {
	cases := []struct {
		name string
		objs []runtime.Object
		args []string
		want result
	}{{
		name: "source not finished",
		args: []string{"restore", "--from", "actionset/db-backup-x7k2p"},
		want: result{Code: ExitFailed, ErrOut: "error: actionset db-backup-x7k2p is Running: restore needs one that succeeded\n"},
	}, {
		name: "no source",
		args: []string{"restore", "--from", "actionset/nope"},
		want: result{Code: ExitUsage, ErrOut: "error: get actionset nope: actionsets.snapflow.dev \"nope\" not found\n"},
	}, {
		name: "no --from",
		args: []string{"restore"},
		want: result{Code: ExitUsage, ErrOut: "error: --from or --restore-point is required: the ActionSet to restore from, as actionset/NAME, or a restore point on --location\nRun 'kubectl snapflow restore --help' for usage.\n"},
	}, {
		name: "both sources",
		args: []string{"restore", "--from", "actionset/x", "--restore-point", "abc", "--location", "l"},
		want: result{Code: ExitUsage, ErrOut: "error: --from and --restore-point exclude each other\nRun 'kubectl snapflow restore --help' for usage.\n"},
	}, {
		name: "--restore-point without --location",
		args: []string{"restore", "--restore-point", "abc"},
		want: result{Code: ExitUsage, ErrOut: "error: --restore-point needs --location: the Location that holds it\nRun 'kubectl snapflow restore --help' for usage.\n"},
	}, {
		name: "--restore-point, no such Location",
		args: []string{"restore", "--restore-point", "abc", "--location", "gone"},
		want: result{Code: ExitUsage, ErrOut: "error: get location gone: locations.snapflow.dev \"gone\" not found\n"},
	}, {
		name: "--from not an actionset",
		args: []string{"restore", "--from", "deploy/db"},
		want: result{Code: ExitUsage, ErrOut: "error: --from: want actionset/NAME, got \"deploy/db\"\nRun 'kubectl snapflow restore --help' for usage.\n"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFakeClient(t, toUnstructured(t, backupSource(v1alpha1.ActionSetRunning)))
			got := runCmd(t, client, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
			if n := len(listActionSets(t, client)); n != 1 {
				t.Errorf("%d ActionSets, want only the source", n)
			}
		})
	}
}
