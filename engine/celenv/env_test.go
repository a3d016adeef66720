package celenv

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"
)

func testScope(t *testing.T) *Scope {
	t.Helper()
	env, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	params := Object{Name: "snapflow.Params", Fields: []Field{{Name: "freeze", Type: cel.ListType(cel.StringType)}}}
	snap := Object{Name: "snapflow.phase.snap", Fields: []Field{{Name: "names", Type: cel.ListType(cel.StringType)}}}
	phases := Object{Name: "snapflow.Phases", Fields: []Field{{Name: "snap", Type: snap.Type()}}}
	s, err := env.Scope(params, []Object{phases, snap})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func vars() map[string]any {
	w := Workload{Kind: "Deployment", Name: "app", Namespace: "ns", Replicas: 2,
		PVCs: []PVC{{Name: "data", StorageClass: "fast", AccessModes: []string{"ReadWriteOnce"}}}}
	return map[string]any{
		VarObject:    map[string]any{"metadata": map[string]any{"name": "app"}},
		VarWorkload:  Value(w),
		VarParams:    map[string]any{"freeze": []any{"fsfreeze", "-f"}},
		VarPhases:    map[string]any{"snap": map[string]any{"names": []any{"a", "b"}}},
		VarArtifacts: map[string]any{},
		VarLocation:  Value(Location{Name: "loc"}),
		VarAction:    Value(Action{Name: "backup", StartTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}),
	}
}

func TestScopeTypesAndEvaluates(t *testing.T) {
	s := testScope(t)
	cases := []struct {
		expr     string
		wantType string
		want     any
	}{
		{"workload.pvcs[0].storageClass", "string", "fast"},
		{"workload.pvcs.map(p, p.name)", "list(string)", []any{"data"}},
		{"size(params.freeze) > 0", "bool", true},
		{"phases.snap.names", "list(string)", []any{"a", "b"}},
		{"object.metadata.name", "dyn", "app"},
		{"action.startTime.getFullYear()", "int", int64(2026)},
		{"workload.replicas + 1", "int", int64(3)},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			p, iss := s.Compile(tc.expr)
			if iss != nil {
				t.Fatalf("compile: %v", iss)
			}
			if got := TypeString(p.Type()); got != tc.wantType {
				t.Errorf("type = %s, want %s", got, tc.wantType)
			}
			got, err := p.Eval(context.Background(), vars())
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScopeRejects(t *testing.T) {
	s := testScope(t)
	cases := []struct{ expr, want string }{
		{"workload.pvc", "undefined field 'pvc'"},
		{"params.nope", "undefined field 'nope'"},
		{"nope + 1", "undeclared reference to 'nope'"},
		{"workload.replicas + 'x'", "found no matching overload for '_+_'"},
		{"[1,2,3].map(a, workload.pods.map(p, workload.pvcs.map(v, v.name + p.name)))", "exceeds the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			_, iss := s.Compile(tc.expr)
			if len(iss) == 0 || !strings.Contains(iss[0].Msg, tc.want) {
				t.Fatalf("issues = %v, want one containing %q", iss, tc.want)
			}
		})
	}
}

func TestRuntimeCostLimit(t *testing.T) {
	s := testScope(t)
	// The estimate assumes lists of EstimatedMaxListSize items; a larger list
	// in the target object passes compilation and must be stopped at run time.
	p, iss := s.Compile("object.items.map(a, [a, a]).size()")
	if iss != nil {
		t.Fatalf("compile: %v", iss)
	}
	items := make([]any, 400_000)
	for i := range items {
		items[i] = int64(i)
	}
	v := vars()
	v[VarObject] = map[string]any{"items": items}
	_, err := p.Eval(context.Background(), v)
	if !errors.Is(err, ErrCostLimit) {
		t.Fatalf("err = %v, want ErrCostLimit", err)
	}
}
