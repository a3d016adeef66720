package plugin

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestDescribeFakeListsObjectsByKind(t *testing.T) {
	backup := actionSet("web-backup-x7k2p", v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "backup",
		Object: v1alpha1.ObjectReference{Kind: "Deployment", Namespace: "shop", Name: "web"},
	}, v1alpha1.ActionSetStatus{
		State: v1alpha1.ActionSetSucceeded,
		Phases: []v1alpha1.PhaseStatus{{
			Name: "objects", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseSucceeded, Attempts: 1,
			Outputs: map[string]apiextensionsv1.JSON{
				"bundle": js(`{"objects": 3, "secret": "web-backup-objects-1a2b"}`),
				"counts": js(`{"Deployment.apps": 1, "ConfigMap": 2}`),
			},
		}},
	})
	restore := actionSet("web-restore-q8z1", v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: "csi-snapshot"}, Action: "restore",
		Object: v1alpha1.ObjectReference{Kind: "Deployment", Namespace: "shop", Name: "web"},
	}, v1alpha1.ActionSetStatus{
		State: v1alpha1.ActionSetSucceeded,
		Phases: []v1alpha1.PhaseStatus{{
			Name: "objects", Stage: v1alpha1.PhaseStageMain, State: v1alpha1.PhaseSucceeded, Attempts: 1,
			Outputs: map[string]apiextensionsv1.JSON{
				"created": js(`{"Deployment.apps": ["shop/web"], "ConfigMap": ["shop/a", "shop/b"]}`),
				"skipped": js(`{"Namespace": ["shop"]}`),
				"updated": js(`{}`),
				"scaled":  js(`["Deployment.apps shop/web"]`),
			},
		}},
	})
	client := newFakeClient(t, toUnstructured(t, backup), toUnstructured(t, restore))

	got := runCmd(t, client, "describe", backup.Name)
	for _, want := range []string{"Objects:\n  captured by phase objects:\n", "    ConfigMap         2\n", "    Deployment.apps   1\n"} {
		if !strings.Contains(got.Out, want) {
			t.Errorf("describe of the backup:\n%s\nwant it to hold %q", got.Out, want)
		}
	}
	got = runCmd(t, client, "describe", restore.Name)
	for _, want := range []string{"  created by phase objects:\n", "    ConfigMap         shop/a, shop/b\n", "  skipped by phase objects:\n", "    Namespace   shop\n"} {
		if !strings.Contains(got.Out, want) {
			t.Errorf("describe of the restore:\n%s\nwant it to hold %q", got.Out, want)
		}
	}
	if strings.Contains(got.Out, "updated by") {
		t.Errorf("describe lists updated objects though none were:\n%s", got.Out)
	}
}
