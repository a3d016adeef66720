package decode

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

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

// TestPositionsAcrossLineBreaks checks the convention of diag.Pos: a line
// ends at "\n", "\r\n" or a lone "\r", and columns count characters.
func TestPositionsAcrossLineBreaks(t *testing.T) {
	lines := []string{
		"apiVersion: snapflow.dev/v1alpha1",
		"kind: Blueprint",
		"metadata:",
		"  name: démo",
		"spec:",
		"  actions:",
		"    backup:",
		"      phases:",
		"      - name: one",
		"        func: log",
		"        args:",
		`          message: "é ${{ x }}"`,
		"          plain: é ${{ x }}",
		"          block: |-",
		"            first",
		"              ${{ y }}",
		"        nope: 1",
		"",
	}
	const phase = "spec.actions.backup.phases[0]"
	want := []diag.Pos{
		{File: "bp.yaml", Line: 4, Col: 9},
		{File: "bp.yaml", Line: 17, Col: 9},
		{File: "bp.yaml", Line: 12, Col: 27},
		{File: "bp.yaml", Line: 13, Col: 24},
		{File: "bp.yaml", Line: 16, Col: 19},
	}
	wantDiags := []string{`bp.yaml:17:9: spec.actions.backup.phases[0].nope: unknown field "nope" (did you mean "name"?)`}
	for _, tc := range []struct{ name, br string }{
		{"lf", "\n"},
		{"crlf", "\r\n"},
		{"cr", "\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, src, ds := Blueprint("bp.yaml", []byte(strings.Join(lines, tc.br)))
			if diff := cmp.Diff(wantDiags, ds.Strings()); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			got := []diag.Pos{
				src.Pos("metadata.name"),
				src.KeyPos(phase + ".nope"),
				src.Offset(phase+".args.message", "é ${{ x }}", len("é ${{ ")),
				src.Offset(phase+".args.plain", "é ${{ x }}", len("é ${{ ")),
				src.Offset(phase+".args.block", "first\n  ${{ y }}", len("first\n  ${{ ")),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("positions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPositionEdges checks positions where yaml.v3 and diag.Pos count lines
// or characters differently, and in other encodings.
func TestPositionEdges(t *testing.T) {
	const notMapping = "expected a Blueprint document (a mapping), got an integer"
	cases := []struct {
		name, in string
		want     []string
	}{
		{"lone cr", "\r000", []string{"f.yaml:2:1: " + notMapping}},
		{"crlf", "\r\n000", []string{"f.yaml:2:1: " + notMapping}},
		{"lf cr", "\n\r000", []string{"f.yaml:3:1: " + notMapping}},
		{"cr crlf", "\r\r\n000", []string{"f.yaml:3:1: " + notMapping}},
		{"NEL is no line break", "\u0085000", []string{"f.yaml:1:2: " + notMapping}},
		{"LS is no line break", "\r\u2028\u2029000", []string{"f.yaml:2:3: " + notMapping}},
		{"byte order mark", "\ufeff\r000", []string{"f.yaml:2:1: " + notMapping}},
		{"columns count characters", `{"é😀": 0, kind: 0}`, []string{
			`f.yaml:1:17: kind: not a Blueprint: got kind "0", expected "Blueprint"`,
			`f.yaml:1:1: apiVersion: missing; expected apiVersion: snapflow.dev/v1alpha1`,
		}},
		{"utf-16le", utf16LE("\r\n\r{\"é😀\": 0, kind: 0}"), []string{
			`f.yaml:3:17: kind: not a Blueprint: got kind "0", expected "Blueprint"`,
			`f.yaml:3:1: apiVersion: missing; expected apiVersion: snapflow.dev/v1alpha1`,
		}},
		{"yaml error after cr", "a: 1\rb: [\r", []string{"f.yaml:2: invalid YAML: did not find expected node content"}},
		{"yaml error after LS", "a: 1\u2028b: [\u2028", []string{"f.yaml:1: invalid YAML: did not find expected node content"}},
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

// utf16LE encodes s as UTF-16LE with a byte order mark.
func utf16LE(s string) string {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return string(b)
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
