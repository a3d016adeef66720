package function

import (
	"context"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

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
		{"struct drift", []Function{Typed[struct{}, struct{}]{Sig: good}}, `arg "name" is declared but struct {} has no field with json:"name"`},
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

// strictArgs is the typed args of strictFn.
type strictArgs struct {
	Message string `json:"message"`
}

var strictFn = Typed[strictArgs, struct{}]{
	Sig: Signature{Name: "strict", Doc: "d", Args: []Arg{{Name: "message", Type: cel.StringType, Required: true, Doc: "d"}}},
	Run: func(context.Context, *Runtime, strictArgs) (struct{}, error) { return struct{}{}, nil },
}

func TestTypedDecodesStrictly(t *testing.T) {
	cases := []struct {
		name string
		args map[string]any
		want string
	}{
		{"unknown field", map[string]any{"message": "hi", "extra": 1}, `strict: decode args: json: unknown field "extra"`},
		{"mistyped", map[string]any{"message": int64(3)}, "strict: decode args: json: cannot unmarshal number into Go struct field strictArgs.message of type string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strictFn.Invoke(context.Background(), &Runtime{}, tc.args)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
