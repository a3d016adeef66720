// Package compile turns a decoded Blueprint into an executable plan before
// anything runs: every expression parsed, type-checked and cost-estimated,
// every argument checked against its function's signature, every
// phases.X.Y reference checked against phase X's declared outputs. It
// reports every error it finds, sorted by position, never just the first.
package compile

import (
	"fmt"
	"slices"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/decode"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Compiler compiles blueprints against one function registry. It is safe for
// concurrent use.
type Compiler struct {
	reg *function.Registry
	env *celenv.Env
}

// New builds a compiler for the functions in reg.
func New(reg *function.Registry) (*Compiler, error) {
	env, err := celenv.New(reg.Objects())
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return &Compiler{reg: reg, env: env}, nil
}

// File decodes and compiles the blueprint in data, read from file.
func (c *Compiler) File(file string, data []byte) (*plan.Blueprint, diag.Diagnostics) {
	bp, src, ds := decode.Blueprint(file, data)
	if bp == nil {
		ds.Sort()
		return nil, ds
	}
	p, more := c.Blueprint(bp, src)
	ds = append(ds, more...)
	ds.Sort()
	if ds.HasErrors() {
		return nil, ds
	}
	return p, ds
}

// Blueprint compiles a decoded blueprint; src gives positions. The plan is
// nil when there are errors.
func (c *Compiler) Blueprint(bp *v1alpha1.Blueprint, src *decode.Source) (*plan.Blueprint, diag.Diagnostics) {
	r := &run{c: c, src: src}
	out := &plan.Blueprint{
		Name:    bp.Name,
		File:    src.File,
		Actions: map[string]*plan.Action{},
		Objects: map[string]celenv.Object{},
	}
	for _, o := range c.env.Objects() {
		out.Objects[o.Name] = o
	}
	out.Params, r.params = r.compileParams(bp.Spec.Params, out.Objects)
	if len(bp.Spec.Actions) == 0 {
		r.errorf(src.Pos("spec.actions"), "spec.actions", "a blueprint needs at least one action")
	}
	for _, name := range sortedKeys(bp.Spec.Actions) {
		if a := r.compileAction(name, bp.Spec.Actions[name], out.Objects); a != nil {
			out.Actions[name] = a
		}
	}
	r.ds.Sort()
	if r.ds.HasErrors() {
		return nil, r.ds
	}
	return out, r.ds
}

// errorf reports an error, unless the decoder already reported one for the
// same field: a value it dropped must not be reported again as missing.
func (r *run) errorf(pos diag.Pos, path, format string, args ...any) {
	if r.src.Reported(path) {
		return
	}
	r.ds.Add(pos, path, format, args...)
}

// run is the state of one compilation.
type run struct {
	c      *Compiler
	src    *decode.Source
	ds     diag.Diagnostics
	params celenv.Object
}

const paramsPath = "spec.params"

func (r *run) compileParams(specs map[string]v1alpha1.ParamSpec, objects map[string]celenv.Object) ([]plan.Param, celenv.Object) {
	obj := celenv.Object{Name: celenv.TypePrefix + "Params", Doc: "the blueprint's params"}
	var params []plan.Param
	for _, name := range sortedKeys(specs) {
		spec, path := specs[name], decode.Join(paramsPath, name)
		if !function.Identifier.MatchString(name) {
			r.errorf(r.src.KeyPos(path), path, "param name %q must be an identifier (letters, digits and _) so expressions can read params.%s", name, name)
			continue
		}
		t, err := celenv.ParseType(spec.Type)
		if err != nil {
			r.errorf(r.src.Pos(path+".type"), path+".type", "%v", err)
			// Declared as dyn, so uses of the param cause no follow-on errors.
			obj.Fields = append(obj.Fields, celenv.Field{Name: name, Type: celDyn})
			continue
		}
		p := plan.Param{Name: name, Type: t, Description: spec.Description}
		if spec.Default != nil {
			v, err := celenv.FromJSON(spec.Default.Raw)
			if err == nil {
				p.Default, err = celenv.Conform(v, t, objects)
			}
			if err != nil {
				r.errorf(r.src.Pos(path+".default"), path+".default", "default does not match type %s: %v", celenv.TypeString(t), err)
			}
			p.HasDefault = true
		}
		params = append(params, p)
		obj.Fields = append(obj.Fields, celenv.Field{Name: name, Type: t, Doc: spec.Description})
	}
	return params, obj
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
