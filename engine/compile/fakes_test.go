package compile

import (
	"context"
	"testing"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/functions"
)

// Fake functions for compiler tests: their signatures are shaped like the
// volume functions', and their Run does nothing, since compilation never
// runs anything.

type fakeArgs = map[string]any

var fakeSnapshotObject = celenv.Object{Name: "snapflow.test.Snapshot", Fields: []celenv.Field{
	{Name: "pvc", Type: cel.StringType, Doc: "source claim"},
	{Name: "handle", Type: cel.StringType, Doc: "snapshot handle"},
}}

func fakeFunc(sig functions.Signature) functions.Function {
	return fakeFn{sig: sig}
}

type fakeFn struct{ sig functions.Signature }

func (f fakeFn) Signature() functions.Signature { return f.sig }
func (f fakeFn) Invoke(context.Context, *functions.Runtime, map[string]any) (map[string]any, error) {
	return map[string]any{}, nil
}
func (f fakeFn) Release(context.Context, *functions.Runtime, string) error { return nil }

func fakeRegistry(t testing.TB) *functions.Registry {
	t.Helper()
	reg, err := functions.NewRegistry(
		fakeFunc(functions.Signature{
			Name: "quiesce", Doc: "fake quiesce",
			Args: []functions.Arg{
				{Name: "pod", Type: cel.StringType, Required: true, Doc: "pod"},
				{Name: "command", Type: cel.ListType(cel.StringType), Required: true, Doc: "command"},
			},
			Outputs: []functions.Output{{Name: "heldFor", Type: cel.DurationType, Doc: "hold"}},
		}),
		fakeFunc(functions.Signature{
			Name: "snapshot", Doc: "fake snapshot",
			Args: []functions.Arg{
				{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true, Doc: "claims"},
				{Name: "class", Type: cel.StringType, Default: "", Doc: "snapshot class"},
				{Name: "durable", Type: cel.BoolType, Default: true, Doc: "retain"},
			},
			Outputs: []functions.Output{
				{Name: "snapshots", Type: cel.ListType(fakeSnapshotObject.Type()), Doc: "snapshots"},
				{Name: "count", Type: cel.IntType, Doc: "how many"},
			},
			Objects: []celenv.Object{fakeSnapshotObject},
		}),
		fakeFunc(functions.Signature{
			Name: "cloneReadOnly", Doc: "fake clone",
			Args: []functions.Arg{
				{Name: "snapshots", Type: cel.ListType(fakeSnapshotObject.Type()), Required: true, Doc: "snapshots"},
			},
			Outputs: []functions.Output{{Name: "pvcs", Type: cel.ListType(cel.StringType), Doc: "clones"}},
		}),
		fakeFunc(functions.Signature{
			Name: "export", Doc: "fake export",
			Args: []functions.Arg{
				{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true, Doc: "claims"},
				{Name: "location", Type: cel.StringType, Required: true, Doc: "location"},
				{Name: "tag", Type: cel.StringType, Doc: "tag"},
			},
			Outputs: []functions.Output{{Name: "exports", Type: cel.ListType(cel.DynType), Doc: "exports"}},
		}),
		functions.Log(),
		functions.Sleep(),
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
