package decode

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/engine/diag"
)

const doc = `apiVersion: snapflow.dev/v1alpha1
kind: Blueprint
metadata:
  name: demo
spec:
  params:
    n: {type: int, default: 3}
  actions:
    backup:
      phases:
      - name: one
        func: log
        args:
          message: "a ${{ x }}"
          block: |
            first
              ${{ y }}
`

func TestBlueprintKeepsPositions(t *testing.T) {
	bp, src, ds := Blueprint("bp.yaml", []byte(doc))
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	if bp.Name != "demo" || bp.Spec.Actions["backup"].Phases[0].Func != "log" {
		t.Fatalf("decoded %+v", bp)
	}
	cases := []struct {
		name string
		got  diag.Pos
		want diag.Pos
	}{
		{"value", src.Pos("spec.actions.backup.phases[0].func"), diag.Pos{File: "bp.yaml", Line: 12, Col: 15}},
		{"key", src.KeyPos("spec.params.n"), diag.Pos{File: "bp.yaml", Line: 7, Col: 5}},
		{"unknown falls back to parent", src.Pos("spec.actions.backup.phases[0].nope"), diag.Pos{File: "bp.yaml", Line: 11, Col: 9}},
		{"inside double quotes", src.Offset("spec.actions.backup.phases[0].args.message", "a ${{ x }}", 6), diag.Pos{File: "bp.yaml", Line: 14, Col: 27}},
		{"inside a block scalar", src.Offset("spec.actions.backup.phases[0].args.block", "first\n  ${{ y }}\n", 12), diag.Pos{File: "bp.yaml", Line: 17, Col: 19}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("pos (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBlueprintRejects(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"second document", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\n---\nkind: Blueprint\n",
			[]string{"f.yaml:3: invalid YAML: found a second document; put each blueprint in its own file"}},
		{"duplicate key", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nspec: {actions: {}}\nspec: {}\n",
			[]string{"f.yaml:4:1: spec: duplicate key \"spec\""}},
		{"wrong shape", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nspec: {actions: [a]}\n",
			[]string{"f.yaml:3:17: spec.actions: must be a mapping, got a list"}},
		{"missing kind", "apiVersion: snapflow.dev/v1alpha1\n",
			[]string{"f.yaml:1:1: kind: missing; expected kind: Blueprint"}},
		{"merge key", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nspec:\n  <<: {a: 1}\n",
			[]string{"f.yaml:4:3: spec: YAML merge keys (<<) are not supported"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ds := Blueprint("f.yaml", []byte(tc.in))
			if diff := cmp.Diff(tc.want, ds.Strings()); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParent(t *testing.T) {
	cases := map[string]string{
		"spec.actions.backup":        "spec.actions",
		"spec.phases[2]":             "spec.phases",
		"spec.phases[2].args":        "spec.phases[2]",
		`spec.params["a.b"]`:         "spec.params",
		`spec.params["a.b"].default`: `spec.params["a.b"]`,
		"spec":                       "",
	}
	for in, want := range cases {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}
