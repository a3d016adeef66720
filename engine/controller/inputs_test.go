package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}})
	for _, k := range []string{"Pod", "PersistentVolumeClaim", "ConfigMap"} {
		m.Add(schema.GroupVersionKind{Version: "v1", Kind: k}, meta.RESTScopeNamespace)
	}
	for _, k := range []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"} {
		m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: k}, meta.RESTScopeNamespace)
	}
	return m
}

func TestTargetGVR(t *testing.T) {
	tests := []struct {
		ref     v1alpha1.ObjectReference
		want    schema.GroupVersionResource
		wantErr string
	}{
		{ref: v1alpha1.ObjectReference{Kind: "Deployment"}, want: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{ref: v1alpha1.ObjectReference{APIVersion: "apps/v1", Kind: "StatefulSet"}, want: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}},
		{ref: v1alpha1.ObjectReference{Kind: "DaemonSet"}, want: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}},
		{ref: v1alpha1.ObjectReference{Kind: "ReplicaSet"}, want: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}},
		{ref: v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Pod"}, want: schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{ref: v1alpha1.ObjectReference{Kind: "PersistentVolumeClaim"}, want: schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}},
		{ref: v1alpha1.ObjectReference{Kind: "ConfigMap"}, wantErr: `unsupported target kind "ConfigMap"; want one of DaemonSet, Deployment, PersistentVolumeClaim, Pod, ReplicaSet, StatefulSet`},
		{ref: v1alpha1.ObjectReference{APIVersion: "v1", Kind: "Deployment"}, wantErr: `target kind Deployment is in API group "apps", not ""`},
		{ref: v1alpha1.ObjectReference{APIVersion: "apps/v9", Kind: "Deployment"}, wantErr: "map target kind Deployment: no matches for kind \"Deployment\" in version \"apps/v9\""},
		{ref: v1alpha1.ObjectReference{APIVersion: "a/b/c", Kind: "Pod"}, wantErr: `target apiVersion "a/b/c": unexpected GroupVersion string: a/b/c`},
	}
	for _, tc := range tests {
		t.Run(tc.ref.APIVersion+"/"+tc.ref.Kind, func(t *testing.T) {
			got, err := targetGVR(testMapper(), tc.ref)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResolveArtifacts(t *testing.T) {
	sets := map[string]*v1alpha1.ActionSet{
		"done":    {Status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetSucceeded, Artifacts: map[string]apiextensionsv1.JSON{"snap": {Raw: []byte(`{"name":"s1"}`)}}}},
		"running": {Status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning}},
		"new":     {},
	}
	get := func(_ context.Context, name string) (*v1alpha1.ActionSet, error) {
		if as, ok := sets[name]; ok {
			return as, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "snapflow.dev", Resource: "actionsets"}, name)
	}
	tests := []struct {
		name    string
		src     *v1alpha1.ArtifactsSource
		want    map[string]any
		wantErr string
	}{
		{name: "none"},
		{name: "inline", src: &v1alpha1.ArtifactsSource{Inline: map[string]apiextensionsv1.JSON{"n": {Raw: []byte(`[1]`)}}}, want: map[string]any{"n": []any{1.0}}},
		{name: "from succeeded", src: &v1alpha1.ArtifactsSource{FromActionSet: "done"}, want: map[string]any{"snap": map[string]any{"name": "s1"}}},
		{name: "from running", src: &v1alpha1.ArtifactsSource{FromActionSet: "running"},
			wantErr: `artifacts.fromActionSet: ActionSet "running" is Running, not Succeeded: only a succeeded action has a restore point`},
		{name: "from new", src: &v1alpha1.ArtifactsSource{FromActionSet: "new"},
			wantErr: `artifacts.fromActionSet: ActionSet "new" is Pending, not Succeeded: only a succeeded action has a restore point`},
		{name: "from missing", src: &v1alpha1.ArtifactsSource{FromActionSet: "gone"},
			wantErr: `artifacts.fromActionSet: get ActionSet "gone": actionsets.snapflow.dev "gone" not found`},
		{name: "both", src: &v1alpha1.ArtifactsSource{FromActionSet: "done", Inline: map[string]apiextensionsv1.JSON{}},
			wantErr: "artifacts: set one of inline or fromActionSet, not both"},
		{name: "neither", src: &v1alpha1.ArtifactsSource{}, wantErr: "artifacts: set one of inline or fromActionSet"},
		{name: "bad inline", src: &v1alpha1.ArtifactsSource{Inline: map[string]apiextensionsv1.JSON{"x": {Raw: []byte(`{`)}}},
			wantErr: `artifacts.inline: value of "x": unexpected end of JSON input`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveArtifacts(t.Context(), tc.src, get)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("artifacts (-got +want):\n%s", diff)
			}
		})
	}
}

func TestLocationVarHasNoSecrets(t *testing.T) {
	loc := &v1alpha1.Location{ObjectMeta: metav1.ObjectMeta{Name: "blob"}, Spec: v1alpha1.LocationSpec{
		Type: v1alpha1.LocationTypeAzure, Container: "backups", Prefix: "p",
		CredentialsSecretRef: &v1alpha1.SecretReference{Name: "creds"},
	}}
	got := locationVar(loc)
	if got.Name != "blob" || got.Type != "azure" || got.Container != "backups" || got.Prefix != "p" {
		t.Errorf("location = %+v", got)
	}
}

func TestCompileCacheRendersPositions(t *testing.T) {
	c := fakeCompiler(t)
	bp := &v1alpha1.Blueprint{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "ns", UID: "u1", Generation: 2},
		Spec: v1alpha1.BlueprintSpec{Actions: map[string]v1alpha1.ActionSpec{"backup": {Phases: []v1alpha1.PhaseSpec{
			{Name: "one", Func: "nosuch"},
		}}}},
	}
	cc := newCompileCache(c)
	got, err := cc.get(bp)
	if err != nil {
		t.Fatal(err)
	}
	if got.plan != nil || len(got.errs) != 1 || !strings.HasPrefix(got.errs[0], "blueprint/ns/bad:") ||
		!strings.Contains(got.errs[0], "spec.actions.backup.phases[0].func") || !strings.Contains(got.errs[0], `"nosuch"`) {
		t.Fatalf("errors = %q, want one positioned unknown function error", got.errs)
	}
	cond := meta.FindStatusCondition(got.status.Conditions, ConditionValid)
	if cond == nil || cond.Status != metav1.ConditionFalse || got.status.ObservedGeneration != 2 || !strings.Contains(cond.Message, got.errs[0]) {
		t.Errorf("status = %+v", got.status)
	}
	if again, _ := cc.get(bp); again != got {
		t.Error("second get compiled again")
	}
	bp.Generation, bp.Spec.Actions["backup"].Phases[0].Func = 3, "log"
	bp.Spec.Actions["backup"].Phases[0].Args = map[string]apiextensionsv1.JSON{"message": {Raw: []byte(`"hi"`)}}
	ok, err := cc.get(bp)
	if err != nil || ok.plan == nil || len(ok.errs) != 0 {
		t.Fatalf("valid generation: plan %v, errors %q, err %v", ok.plan, ok.errs, err)
	}
	if c := meta.FindStatusCondition(ok.status.Conditions, ConditionValid); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("valid status = %+v", ok.status)
	}
	if len(cc.m) != 1 {
		t.Errorf("cache holds %d generations, want 1", len(cc.m))
	}
}

// fakeCompiler compiles blueprints calling fakeLog.
func fakeCompiler(t *testing.T) *compile.Compiler {
	t.Helper()
	reg, err := function.NewRegistry(fakeLog)
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeLog has the built-in log's signature; the engine's tests never use
// the built-ins.
var fakeLog = function.Typed[struct {
	Message string `json:"message"`
}, struct{}]{Sig: function.Signature{
	Name: "log", Doc: "fake log",
	Args: []function.Arg{{Name: "message", Type: cel.StringType, Required: true, Doc: "text"}},
}}

// A resuming run compiles the spec frozen in its status and never reads
// the Blueprint, which may have changed or gone (the Reconciler here has
// no reader: reading would panic).
func TestRunBlueprintResumesFromTheFrozenSpec(t *testing.T) {
	c := fakeCompiler(t)
	r := &Reconciler{compiled: newCompileCache(c)}
	frozen := v1alpha1.BlueprintSpec{Actions: map[string]v1alpha1.ActionSpec{"backup": {Phases: []v1alpha1.PhaseSpec{
		{Name: "frozen", Func: "log", Args: map[string]apiextensionsv1.JSON{"message": {Raw: []byte(`"as started"`)}}},
	}}}}
	as := &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sets", Name: "b", UID: "as-1"},
		Spec:       v1alpha1.ActionSetSpec{Blueprint: v1alpha1.BlueprintReference{Name: "gone"}, Action: "backup"},
		Status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, BlueprintGeneration: 4, BlueprintSpec: &frozen,
			Phases: []v1alpha1.PhaseStatus{{Name: "frozen", State: v1alpha1.PhaseRunning}}},
	}
	bp, got, err := r.runBlueprint(t.Context(), as)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := got.plan.Action("backup")
	if !ok || len(a.Phases) != 1 || a.Phases[0].Name != "frozen" {
		t.Fatalf("compiled %+v, want the frozen action", got.plan)
	}
	if bp.Namespace != "sets" || bp.Name != "gone" || bp.Generation != 4 {
		t.Errorf("blueprint %s/%s generation %d, want sets/gone generation 4", bp.Namespace, bp.Name, bp.Generation)
	}
}

// A resumed run binds the params it started with, not spec.params edited
// since; a run that has not started binds spec.params.
func TestRunParamsFrozenForAResume(t *testing.T) {
	started := map[string]apiextensionsv1.JSON{"retain": {Raw: []byte(`3`)}}
	as := &v1alpha1.ActionSet{
		Spec: v1alpha1.ActionSetSpec{Params: map[string]apiextensionsv1.JSON{"retain": {Raw: []byte(`0`)}}},
		Status: v1alpha1.ActionSetStatus{State: v1alpha1.ActionSetRunning, BlueprintSpec: &v1alpha1.BlueprintSpec{}, Params: started,
			Phases: []v1alpha1.PhaseStatus{{Name: "p", State: v1alpha1.PhaseRunning}}},
	}
	if got := string(runParams(as)["retain"].Raw); got != "3" {
		t.Errorf("resumed run binds retain=%s, want the frozen 3", got)
	}
	as.Status = v1alpha1.ActionSetStatus{}
	if got := string(runParams(as)["retain"].Raw); got != "0" {
		t.Errorf("new run binds retain=%s, want spec's 0", got)
	}
}
