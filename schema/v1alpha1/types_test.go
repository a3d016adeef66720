package v1alpha1

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func raw(s string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(s)} }

func sampleActionSet() *ActionSet {
	start := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return &ActionSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: SchemeGroupVersion.String(), Kind: "ActionSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "backup-1", Namespace: "db"},
		Spec: ActionSetSpec{
			Blueprint: BlueprintReference{Name: "csi-crash-consistent"},
			Action:    "backup",
			Object:    ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "db", Name: "pg"},
			Location:  &LocalObjectReference{Name: "azurite"},
			Params: map[string]apiextensionsv1.JSON{
				"freezeCommand": raw(`["psql","-c","CHECKPOINT"]`),
				"retain":        raw(`3`),
				"label":         raw(`"nightly"`),
			},
		},
		Status: ActionSetStatus{
			State:        ActionSetRunning,
			CurrentPhase: "clone",
			Phases: []PhaseStatus{{
				Name:      "snap",
				Stage:     PhaseStageMain,
				State:     PhaseSucceeded,
				StartTime: &start,
				EndTime:   &start,
				Attempts:  1,
				Outputs:   map[string]apiextensionsv1.JSON{"snapshots": raw(`[{"name":"snap-data-pg-0"}]`)},
			}},
			PendingCleanups: []CleanupRecord{{Phase: "freeze", Func: "quiesce", Key: "pg-0"}},
			Progress:        Progress{Percent: 40, BytesDone: 4, BytesTotal: 10},
			StartTime:       &start,
		},
	}
}

func TestActionSetJSONRoundTrip(t *testing.T) {
	want := sampleActionSet()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got := &ActionSet{}
	if err := json.Unmarshal(b, got); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("round trip (-got +want):\n%s", diff)
	}
}

func TestActionSetDeepCopyIsIndependent(t *testing.T) {
	orig := sampleActionSet()
	want := sampleActionSet()

	cp := orig.DeepCopy()
	if diff := cmp.Diff(cp, orig); diff != "" {
		t.Fatalf("copy differs (-copy +orig):\n%s", diff)
	}
	// Mutate everything reachable through a pointer, map or slice.
	cp.Spec.Location.Name = "s3"
	cp.Spec.Params["retain"].Raw[0] = '9'
	cp.Spec.Params["new"] = raw(`true`)
	cp.Status.Phases[0].Outputs["snapshots"] = raw(`[]`)
	cp.Status.Phases[0].StartTime.Time = time.Time{}
	cp.Status.Phases[0].State = PhaseFailed
	cp.Status.PendingCleanups[0].Key = "other"
	cp.Status.StartTime.Time = time.Time{}

	if diff := cmp.Diff(orig, want); diff != "" {
		t.Errorf("mutating the copy changed the original (-got +want):\n%s", diff)
	}
}

func TestSchemeRegistersAllKinds(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatalf("AddToScheme: %v", err)
	}
	for _, kind := range []string{
		"Blueprint", "BlueprintList",
		"ActionSet", "ActionSetList",
		"Location", "LocationList",
	} {
		if !s.Recognizes(SchemeGroupVersion.WithKind(kind)) {
			t.Errorf("scheme does not recognize %s", kind)
		}
	}
	obj, err := s.New(SchemeGroupVersion.WithKind("ActionSet"))
	if err != nil {
		t.Fatalf("New(ActionSet): %v", err)
	}
	if _, ok := obj.(*ActionSet); !ok {
		t.Errorf("New(ActionSet) = %T, want *ActionSet", obj)
	}
}

func TestActionSetStateFinal(t *testing.T) {
	for s, want := range map[ActionSetState]bool{
		"": false, ActionSetPending: false, ActionSetRunning: false,
		ActionSetSucceeded: true, ActionSetFailed: true, ActionSetCancelled: true,
	} {
		if got := s.Final(); got != want {
			t.Errorf("%q.Final() = %v, want %v", s, got, want)
		}
	}
}
