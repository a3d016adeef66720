package function

import (
	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/celenv"
)

// Signature declares a function: the compiler checks blueprints against it,
// and docs and JSON Schema are generated from it.
type Signature struct {
	Name    string // what blueprints write in func:
	Doc     string // first sentence is the summary
	Args    []Arg
	Outputs []Output
	// Objects declares the CEL object types Args and Outputs use, so
	// expressions such as phases.snap.snapshots[0].handle type-check.
	Objects []celenv.Object
}

// Arg declares one argument.
type Arg struct {
	Name     string
	Type     *cel.Type
	Required bool
	Default  any // used when the arg is absent; a value of Type
	Doc      string
}

// Output declares one output; later phases read it as phases.<phase>.<name>.
type Output struct {
	Name string
	Type *cel.Type
	Doc  string
	// Secret outputs are passed to later phases but never written to
	// status, events or logs.
	Secret bool
}

// Arg returns the named argument.
func (s Signature) Arg(name string) (Arg, bool) {
	for _, a := range s.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

// ArgNames lists the argument names in declaration order.
func (s Signature) ArgNames() []string {
	out := make([]string, len(s.Args))
	for i, a := range s.Args {
		out[i] = a.Name
	}
	return out
}

// Output returns the named output.
func (s Signature) Output(name string) (Output, bool) {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// OutputObject is the CEL object type of the function's outputs, named
// after the phase that calls it.
func (s Signature) OutputObject(typeName string) celenv.Object {
	o := celenv.Object{Name: typeName, Doc: "outputs of " + s.Name}
	for _, out := range s.Outputs {
		o.Fields = append(o.Fields, celenv.Field{Name: out.Name, Type: out.Type, Doc: out.Doc})
	}
	return o
}
