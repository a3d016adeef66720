package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions"
)

func TestFunctions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want result
	}{
		{"one function", []string{"log"}, result{code: cli.ExitOK, out: `log
  Records a message in the phase's status and returns it as an output.
  args:
    message  string  required  text to record; ${{ }} interpolates values
  outputs:
    message  string  the recorded text
`}},
		{"markdown", []string{"fail", "-o", "markdown"}, result{code: cli.ExitOK, out: "# fail\n\n" +
			"Fails the action with a message; it is never retried.\n\n**Arguments**\n\n" +
			"| Name | Type | Required | Default | Description |\n|---|---|---|---|---|\n" +
			"| `message` | `string` | yes |  | why the action fails |\n"}},
		{"unknown function", []string{"lg"}, result{code: cli.ExitUsage,
			errOut: "error: no function \"lg\" (did you mean \"log\"?); `snapflow functions` lists them\nRun 'snapflow functions --help' for usage.\n"}},
		{"bad format", []string{"-o", "yaml"}, result{code: cli.ExitUsage,
			errOut: "error: --output must be text, markdown or json, got \"yaml\"\nRun 'snapflow functions --help' for usage.\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, snapflow(t, append([]string{"functions"}, tc.args...)...), tc.want)
		})
	}
}

func TestFunctionsAll(t *testing.T) {
	got := snapflow(t, "functions", "-o", "json")
	var docs []funcDoc
	if err := json.Unmarshal([]byte(got.out), &docs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got.out)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	if diff := cmp.Diff(names, builtinNames(t)); diff != "" {
		t.Errorf("names (-got +want):\n%s", diff)
	}
	md := snapflow(t, "functions", "--output", "markdown").out
	for _, want := range []string{"# Functions\n", "| [`sleep`](#sleep) |", "## log\n", "| `slept` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// docFn is a function with defaults, object types and a secret output,
// which the builtins do not have.
type docFn struct{}

var docObject = celenv.Object{Name: "snapflow.doc.Snap", Doc: "a snapshot", Fields: []celenv.Field{
	{Name: "handle", Type: cel.StringType, Doc: "snapshot | handle"},
}}

func (docFn) Signature() function.Signature {
	return function.Signature{
		Name: "snap", Doc: "Cuts snapshots.",
		Args: []function.Arg{
			{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true, Doc: "claims"},
			{Name: "class", Type: cel.StringType, Default: "csi", Doc: "snapshot class"},
			{Name: "tag", Type: cel.StringType, Doc: "tag"},
		},
		Outputs: []function.Output{
			{Name: "snapshots", Type: cel.ListType(docObject.Type()), Doc: "snapshots"},
			{Name: "token", Type: cel.StringType, Doc: "access token", Secret: true},
		},
		Objects: []celenv.Object{docObject},
	}
}

func (docFn) Invoke(context.Context, *function.Runtime, map[string]any) (map[string]any, error) {
	return nil, nil
}

func (docFn) Release(context.Context, *function.Runtime, string) error { return nil }

func TestFunctionDocs(t *testing.T) {
	d := docOf(docFn{}.Signature())
	var text, md strings.Builder
	if err := writeFunctionsText(&text, []funcDoc{d}); err != nil {
		t.Fatal(err)
	}
	wantText := `snap
  Cuts snapshots.
  args:
    pvcs   list(string)  required       claims
    class  string        default "csi"  snapshot class
    tag    string        optional       tag
  outputs:
    snapshots  list(snapflow.doc.Snap)  snapshots
    token      string                   access token
  type snapflow.doc.Snap: a snapshot
    handle  string  snapshot | handle
`
	if diff := cmp.Diff(text.String(), wantText); diff != "" {
		t.Errorf("text (-got +want):\n%s", diff)
	}
	if err := writeMarkdown(&md, []funcDoc{d}, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `class` | `string` | no | `\"csi\"` | snapshot class |",
		"| `token` | `string` | access token (secret: never written to status) |",
		"**Type `snapflow.doc.Snap`**: a snapshot",
		"| `handle` | `string` | snapshot \\| handle |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// builtinNames lists the registered functions, sorted.
func builtinNames(t *testing.T) []string {
	t.Helper()
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Names()
}
