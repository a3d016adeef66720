package functions

import (
	"context"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

// TestBuiltinsAreWellFormed walks the built-in registry: unique names,
// documented functions, args and outputs, and defaults of their declared
// types (NewRegistry enforces these; the test keeps it that way).
func TestBuiltinsAreWellFormed(t *testing.T) {
	reg, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range reg.Names() {
		if seen[name] {
			t.Errorf("duplicate function %q", name)
		}
		seen[name] = true
		f, _ := reg.Lookup(name)
		sig := f.Signature()
		if sig.Name != name || sig.Doc == "" {
			t.Errorf("%s: name %q, doc %q", name, sig.Name, sig.Doc)
		}
		if err := checkSignature(sig); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(seen) == 0 {
		t.Fatal("no builtins")
	}
}

func TestNewRegistryRejects(t *testing.T) {
	type args struct {
		Name string `json:"name"`
	}
	good := Signature{Name: "ok", Doc: "d", Args: []Arg{{Name: "name", Type: cel.StringType, Doc: "d"}}}
	cases := []struct {
		name string
		fns  []Function
		want string
	}{
		{"duplicate", []Function{Typed[args, struct{}]{Sig: good}, Typed[args, struct{}]{Sig: good}}, `function "ok" registered twice`},
		{"undocumented", []Function{Typed[struct{}, struct{}]{Sig: Signature{Name: "x"}}}, "missing doc"},
		{"bad default", []Function{Typed[args, struct{}]{Sig: Signature{Name: "x", Doc: "d",
			Args: []Arg{{Name: "name", Type: cel.IntType, Default: "three", Doc: "d"}}}}}, `arg "name": default: must be int, got string "three"`},
		{"struct drift", []Function{Typed[struct{}, struct{}]{Sig: good}}, `arg "name" is declared but  has no field with json:"name"`},
		{"bad name", []Function{Typed[struct{}, struct{}]{Sig: Signature{Name: "a-b", Doc: "d"}}}, "name must match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry(tc.fns...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNamesAreDeterministicLabels(t *testing.T) {
	a := NewNames("My.ActionSet", "uid-1", "snap")
	b := NewNames("My.ActionSet", "uid-1", "snap")
	if a.Name("data") != b.Name("data") {
		t.Fatal("same inputs gave different names")
	}
	if a.Name("data") == NewNames("My.ActionSet", "uid-2", "snap").Name("data") {
		t.Error("different UIDs gave the same name")
	}
	long := NewNames(strings.Repeat("x", 80), "uid", strings.Repeat("p", 40)).Name("claim")
	if len(long) > 63 || strings.ToLower(long) != long {
		t.Errorf("name %q is not a DNS label", long)
	}
	if got := a.Name("data"); !strings.HasPrefix(got, "my-actionset-snap-data-") {
		t.Errorf("name %q lost its readable prefix", got)
	}
}

func TestTypedDecodesStrictly(t *testing.T) {
	rt := &Runtime{Message: func(string) {}}
	_, err := Log().Invoke(context.Background(), rt, map[string]any{"message": "hi", "extra": 1})
	if err == nil || !strings.Contains(err.Error(), `unknown field "extra"`) {
		t.Fatalf("err = %v", err)
	}
	_, err = Log().Invoke(context.Background(), rt, map[string]any{"message": int64(3)})
	if err == nil || !strings.Contains(err.Error(), "cannot unmarshal number") {
		t.Fatalf("err = %v", err)
	}
}
