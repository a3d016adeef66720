package jsonschema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/go-cmp/cmp"
	validator "github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/function"
)

// builtins is a registry of fakes with the signatures of the built-in log,
// sleep and fail; the engine's tests never import the built-ins.
func builtins(t *testing.T) *function.Registry {
	t.Helper()
	reg, err := function.NewRegistry(
		fakeFn{function.Signature{Name: "log", Doc: "Records a message.",
			Args:    []function.Arg{{Name: "message", Type: cel.StringType, Required: true, Doc: "text to record"}},
			Outputs: []function.Output{{Name: "message", Type: cel.StringType, Doc: "the recorded text"}}}},
		fakeFn{function.Signature{Name: "sleep", Doc: "Waits for a duration.",
			Args: []function.Arg{{Name: "duration", Type: cel.DurationType, Required: true, Doc: "how long to wait"}}}},
		fakeFn{function.Signature{Name: "fail", Doc: "Fails the action.",
			Args: []function.Arg{{Name: "message", Type: cel.StringType, Required: true, Doc: "why"}}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// fakeFn is a function that only has a signature.
type fakeFn struct{ sig function.Signature }

func (f fakeFn) Signature() function.Signature { return f.sig }
func (f fakeFn) Invoke(context.Context, *function.Runtime, map[string]any) (map[string]any, error) {
	return nil, nil
}
func (f fakeFn) Release(context.Context, *function.Runtime, string) error { return nil }

// compileSchema checks the generated schema against the draft 2020-12
// meta-schema and compiles it for validation.
func compileSchema(t *testing.T, reg *function.Registry) *validator.Schema {
	t.Helper()
	raw, err := json.Marshal(Blueprint(reg))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	doc, err := validator.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := validator.NewCompiler()
	if err := c.AddResource("blueprint.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("blueprint.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return s
}

func instance(t *testing.T, yamlDoc []byte) any {
	t.Helper()
	var tree any
	if err := yaml.Unmarshal(yamlDoc, &tree); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFunctionEnum(t *testing.T) {
	reg := builtins(t)
	s := Blueprint(reg)
	phase := s["$defs"].(Schema)["phase"].(Schema)
	got := phase["properties"].(Schema)["func"].(Schema)["enum"]
	if diff := cmp.Diff(got, reg.Names()); diff != "" {
		t.Errorf("func enum (-got +want):\n%s", diff)
	}
	if n, want := len(phase["allOf"].([]any)), len(reg.Names()); n != want {
		t.Errorf("allOf has %d entries, want one per function (%d)", n, want)
	}
}

func TestArgsSchema(t *testing.T) {
	s := Blueprint(builtins(t))
	got := s["$defs"].(Schema)[argsDef("sleep")]
	want := Schema{
		"type":        "object",
		"description": "Arguments of sleep: Waits for a duration.",
		"properties": Schema{"duration": Schema{
			"anyOf": []any{
				map[string]any{"type": "string", "pattern": `^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$`},
				map[string]any{"$ref": "#/$defs/expression"},
			},
			"description": `how long to wait (` + celenv.TypeString(cel.DurationType) + `, required)`,
		}},
		"required":             []string{"duration"},
		"additionalProperties": false,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("args.sleep (-got +want):\n%s", diff)
	}
}

// TestAcceptsWhatCompiles validates every testdata blueprint the compiler
// accepts: the schema must never be stricter than the compiler.
func TestAcceptsWhatCompiles(t *testing.T) {
	reg := builtins(t)
	s := compileSchema(t, reg)
	c, err := compile.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if _, ds := c.File(file, data); ds.HasErrors() {
				t.Fatalf("testdata must compile:\n%v", ds.Err())
			}
			if err := s.Validate(instance(t, data)); err != nil {
				t.Errorf("schema rejects a blueprint the compiler accepts:\n%v", err)
			}
		})
	}
}

const header = "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nmetadata: {name: x}\n"

func TestRejects(t *testing.T) {
	s := compileSchema(t, builtins(t))
	cases := []struct {
		name, doc string
		at        string // instance location of the error
		msg       string // part of the error message
	}{
		{"unknown function", "spec: {actions: {a: {phases: [{name: p, func: lg}]}}}",
			"/spec/actions/a/phases/0/func", "value must be one of"},
		{"unknown arg", "spec: {actions: {a: {phases: [{name: p, func: log, args: {message: hi, level: 2}}]}}}",
			"/spec/actions/a/phases/0/args", "additional properties 'level' not allowed"},
		{"missing required arg", "spec: {actions: {a: {phases: [{name: p, func: log, args: {}}]}}}",
			"/spec/actions/a/phases/0/args", "missing property 'message'"},
		{"missing args", "spec: {actions: {a: {phases: [{name: p, func: fail}]}}}",
			"/spec/actions/a/phases/0", "missing property 'args'"},
		{"wrong arg type", "spec: {actions: {a: {phases: [{name: p, func: log, args: {message: [a]}}]}}}",
			"/spec/actions/a/phases/0/args/message", "got array, want string"},
		{"not a duration", "spec: {actions: {a: {phases: [{name: p, func: sleep, args: {duration: soon}}]}}}",
			"/spec/actions/a/phases/0/args/duration", "does not match pattern"},
		{"bad phase name", "spec: {actions: {a: {phases: [{name: my-phase, func: log, args: {message: hi}}]}}}",
			"/spec/actions/a/phases/0/name", "does not match pattern"},
		{"bad timeout", "spec: {actions: {a: {timeout: 2 hours, phases: [{name: p, func: log, args: {message: hi}}]}}}",
			"/spec/actions/a/timeout", "does not match pattern"},
		{"zero attempts", "spec: {actions: {a: {phases: [{name: p, func: log, retry: {attempts: 0}, args: {message: hi}}]}}}",
			"/spec/actions/a/phases/0/retry/attempts", "minimum"},
		{"unknown field", "spec: {actions: {a: {phases: [{name: p, func: log, args: {message: hi}, wen: x}]}}}",
			"/spec/actions/a/phases/0", "additional properties 'wen' not allowed"},
		{"bad param type", "spec: {params: {n: {type: integer}}, actions: {a: {phases: [{name: p, func: log, args: {message: hi}}]}}}",
			"/spec/params/n/type", "does not match pattern"},
		{"no phases", "spec: {actions: {a: {phases: []}}}",
			"/spec/actions/a/phases", "minItems"},
		{"no name", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\nmetadata: {}\nspec: {actions: {}}",
			"/metadata", "missing property 'name'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if !strings.HasPrefix(doc, "apiVersion") {
				doc = header + doc
			}
			err := s.Validate(instance(t, []byte(doc)))
			var ve *validator.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("validate = %v; want a validation error", err)
			}
			got := leafErrors(ve)
			if !slices.ContainsFunc(got, func(e string) bool {
				return strings.HasPrefix(e, tc.at+": ") && strings.Contains(e, tc.msg)
			}) {
				t.Errorf("errors:\n%s\nwant one at %s containing %q", strings.Join(got, "\n"), tc.at, tc.msg)
			}
		})
	}
}

var english = message.NewPrinter(language.English)

// leafErrors renders the innermost causes as "location: message".
func leafErrors(ve *validator.ValidationError) []string {
	if len(ve.Causes) == 0 {
		return []string{"/" + strings.Join(ve.InstanceLocation, "/") + ": " + ve.ErrorKind.LocalizedString(english)}
	}
	var out []string
	for _, c := range ve.Causes {
		out = append(out, leafErrors(c)...)
	}
	return out
}
