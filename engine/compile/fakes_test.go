package compile

import (
	"context"
	"testing"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
)

// Fake functions for compiler tests: their signatures are shaped like the
// volume functions', and their Run does nothing, since compilation never
// runs anything.

type fakeArgs = map[string]any

var fakeSnapshotObject = celenv.Object{Name: "snapflow.test.Snapshot", Fields: []celenv.Field{
	{Name: "pvc", Type: cel.StringType, Doc: "source claim"},
	{Name: "handle", Type: cel.StringType, Doc: "snapshot handle"},
}}

func fakeFunc(sig function.Signature) function.Function {
	return fakeFn{sig: sig}
}

type fakeFn struct{ sig function.Signature }

func (f fakeFn) Signature() function.Signature { return f.sig }
func (f fakeFn) Invoke(context.Context, *function.Runtime, map[string]any) (map[string]any, error) {
	return map[string]any{}, nil
}
func (f fakeFn) Release(context.Context, *function.Runtime, string) error { return nil }

func fakeRegistry(t testing.TB) *function.Registry {
	t.Helper()
	reg, err := function.NewRegistry(
		fakeFunc(function.Signature{
			Name: "quiesce", Doc: "fake quiesce",
			Args: []function.Arg{
				{Name: "pod", Type: cel.StringType, Required: true, Doc: "pod"},
				{Name: "command", Type: cel.ListType(cel.StringType), Required: true, Doc: "command"},
			},
			Outputs: []function.Output{{Name: "heldFor", Type: cel.DurationType, Doc: "hold"}},
		}),
		fakeFunc(function.Signature{
			Name: "snapshot", Doc: "fake snapshot",
			Args: []function.Arg{
				{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true, Doc: "claims"},
				{Name: "class", Type: cel.StringType, Default: "", Doc: "snapshot class"},
				{Name: "durable", Type: cel.BoolType, Default: true, Doc: "retain"},
			},
			Outputs: []function.Output{
				{Name: "snapshots", Type: cel.ListType(fakeSnapshotObject.Type()), Doc: "snapshots"},
				{Name: "count", Type: cel.IntType, Doc: "how many"},
			},
			Objects: []celenv.Object{fakeSnapshotObject},
		}),
		fakeFunc(function.Signature{
			Name: "cloneReadOnly", Doc: "fake clone",
			Args: []function.Arg{
				{Name: "snapshots", Type: cel.ListType(fakeSnapshotObject.Type()), Required: true, Doc: "snapshots"},
			},
			Outputs: []function.Output{{Name: "pvcs", Type: cel.ListType(cel.StringType), Doc: "clones"}},
		}),
		fakeFunc(function.Signature{
			Name: "export", Doc: "fake export",
			Args: []function.Arg{
				{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true, Doc: "claims"},
				{Name: "location", Type: cel.StringType, Required: true, Doc: "location"},
				{Name: "tag", Type: cel.StringType, Doc: "tag"},
			},
			Outputs: []function.Output{{Name: "exports", Type: cel.ListType(cel.DynType), Doc: "exports"}},
		}),
		fakeFunc(function.Signature{
			Name: "log", Doc: "fake log",
			Args:    []function.Arg{{Name: "message", Type: cel.StringType, Required: true, Doc: "text"}},
			Outputs: []function.Output{{Name: "message", Type: cel.StringType, Doc: "text"}},
		}),
		fakeFunc(function.Signature{
			Name: "sleep", Doc: "fake sleep",
			Args:    []function.Arg{{Name: "duration", Type: cel.DurationType, Required: true, Doc: "how long"}},
			Outputs: []function.Output{{Name: "slept", Type: cel.DurationType, Doc: "how long"}},
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func fakeCompiler(t testing.TB) *Compiler {
	t.Helper()
	c, err := New(fakeRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
