package compile

import (
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/decode"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

var celDyn = cel.DynType

// phaseDecl is a phase as the action declares it, before compilation.
type phaseDecl struct {
	spec  v1alpha1.PhaseSpec
	stage v1alpha1.PhaseStage
	index int // within its stage
	path  string
	fn    function.Function // nil when the function is unknown
}

// actionCtx is what compiling one action's phases shares.
type actionCtx struct {
	name   string
	scope  *celenv.Scope
	decls  []*phaseDecl
	byName map[string]*phaseDecl
}

func (r *run) compileAction(name string, spec v1alpha1.ActionSpec, objects map[string]celenv.Object) *plan.Action {
	path := decode.Join("spec.actions", name)
	if len(spec.Phases) == 0 {
		r.errorf(r.src.Pos(path), path+".phases", "action %q has no phases", name)
	}
	a := &plan.Action{Name: name, Timeout: r.duration(spec.Timeout, path+".timeout")}
	ac := r.declarePhases(name, path, spec)
	phaseObjs := r.phaseObjects(ac)
	for _, o := range phaseObjs {
		objects[o.Name] = o
	}
	scope, err := r.c.env.Scope(r.params, phaseObjs)
	if err != nil {
		r.errorf(r.src.Pos(path), path, "cannot build the expression environment: %v", err)
		return nil
	}
	ac.scope = scope
	for _, d := range ac.decls {
		p := r.compilePhase(ac, d)
		if p == nil {
			continue
		}
		if d.stage == v1alpha1.PhaseStageFinally {
			a.Finally = append(a.Finally, p)
		} else {
			a.Phases = append(a.Phases, p)
		}
	}
	if len(spec.Outputs) > 0 {
		a.Outputs = r.compileOutputs(ac, path+".outputs", spec.Outputs)
	}
	return a
}

// declarePhases checks phase names and resolves functions.
func (r *run) declarePhases(action, path string, spec v1alpha1.ActionSpec) *actionCtx {
	ac := &actionCtx{name: action, byName: map[string]*phaseDecl{}}
	add := func(stage v1alpha1.PhaseStage, field string, specs []v1alpha1.PhaseSpec) {
		for i, ps := range specs {
			d := &phaseDecl{spec: ps, stage: stage, index: i, path: decode.Index(path+"."+field, i)}
			namePath := d.path + ".name"
			switch first, dup := ac.byName[ps.Name]; {
			case ps.Name == "":
				r.errorf(r.src.Pos(d.path), namePath, "missing phase name")
			case !function.Identifier.MatchString(ps.Name):
				r.errorf(r.src.Pos(namePath), namePath, "phase name %q must be an identifier (letters, digits and _) so expressions can read phases.%s", ps.Name, ps.Name)
			case dup:
				r.errorf(r.src.Pos(namePath), namePath, "duplicate phase name %q (first used at %s)", ps.Name, r.src.Pos(first.path+".name"))
			default:
				ac.byName[ps.Name] = d
			}
			d.fn = r.resolveFunc(d)
			ac.decls = append(ac.decls, d)
		}
	}
	add(v1alpha1.PhaseStageMain, "phases", spec.Phases)
	add(v1alpha1.PhaseStageFinally, "finally", spec.Finally)
	return ac
}

func (r *run) resolveFunc(d *phaseDecl) function.Function {
	path := d.path + ".func"
	if d.spec.Func == "" {
		r.errorf(r.src.Pos(d.path), path, "missing func")
		return nil
	}
	f, ok := r.c.reg.Lookup(d.spec.Func)
	if !ok {
		r.errorf(r.src.Pos(path), path, "unknown function %q%s; `snapflow functions` lists them", d.spec.Func, diag.Suggest(d.spec.Func, r.c.reg.Names()))
		return nil
	}
	return f
}

// phaseObjects declares the CEL types of phases: one object with a field per
// phase, then one object per phase with its function's outputs. Phases whose
// function is unknown read as dyn, so they cause no follow-on errors.
func (r *run) phaseObjects(ac *actionCtx) []celenv.Object {
	prefix := celenv.TypePrefix + "phases." + ac.name
	phases := celenv.Object{Name: prefix, Doc: "outputs of the phases of action " + ac.name}
	outs := []celenv.Object{}
	for _, d := range ac.decls {
		if ac.byName[d.spec.Name] != d {
			continue
		}
		t := cel.DynType
		if d.fn != nil {
			o := d.fn.Signature().OutputObject(prefix + "." + d.spec.Name)
			outs = append(outs, o)
			t = o.Type()
		}
		phases.Fields = append(phases.Fields, celenv.Field{Name: d.spec.Name, Type: t})
	}
	return append([]celenv.Object{phases}, outs...)
}

func (r *run) compilePhase(ac *actionCtx, d *phaseDecl) *plan.Phase {
	p := &plan.Phase{
		Name:    d.spec.Name,
		Stage:   d.stage,
		Func:    d.fn,
		Timeout: r.duration(d.spec.Timeout, d.path+".timeout"),
		Retry:   r.retry(d.spec.Retry, d.path+".retry"),
	}
	refs := refScope{action: ac, from: d}
	if w := d.spec.When; w != "" {
		p.When = r.compileWhen(ac.scope, w, d.path+".when", refs)
	}
	if d.fn == nil {
		return nil
	}
	p.Args = r.compileArgs(ac.scope, d, refs)
	return p
}

func (r *run) compileWhen(scope *celenv.Scope, when, path string, refs refScope) *celenv.Program {
	if strings.Contains(when, "${{") {
		r.errorf(r.src.Pos(path), path, "when is a bare CEL expression; drop the ${{ }}")
		return nil
	}
	prg, _ := r.expr(scope, exprSite{path: path, value: when, text: when}, refs)
	if prg != nil && prg.Type().Kind() != cel.BoolKind && prg.Type().Kind() != cel.DynKind {
		r.errorf(r.src.Pos(path), path, "when must be a bool expression, got %s", celenv.TypeString(prg.Type()))
		return nil
	}
	return prg
}

func (r *run) compileArgs(scope *celenv.Scope, d *phaseDecl, refs refScope) []plan.Arg {
	sig := d.fn.Signature()
	argsPath := d.path + ".args"
	for _, name := range sortedKeys(d.spec.Args) {
		if _, ok := sig.Arg(name); !ok {
			p := decode.Join(argsPath, name)
			r.errorf(r.src.KeyPos(p), p, "unknown argument %q for function %q%s", name, sig.Name, diag.Suggest(name, sig.ArgNames()))
		}
	}
	var args []plan.Arg
	for _, a := range sig.Args {
		p := decode.Join(argsPath, a.Name)
		raw, ok := d.spec.Args[a.Name]
		switch {
		case ok:
			if v := r.compileArg(scope, raw.Raw, p, a.Type, refs); v != nil {
				args = append(args, plan.Arg{Name: a.Name, Type: a.Type, Value: v})
			}
		case a.Required:
			at := argsPath
			if !r.src.Has(argsPath) {
				at = d.path + ".func"
			}
			r.errorf(r.src.KeyPos(at), argsPath, "missing required argument %q (%s) for function %q", a.Name, celenv.TypeString(a.Type), sig.Name)
		case a.Default != nil:
			v, _ := celenv.Conform(a.Default, a.Type, nil) // checked at registration
			args = append(args, plan.Arg{Name: a.Name, Type: a.Type, Value: &plan.Literal{V: v, T: a.Type}})
		}
	}
	return args
}

func (r *run) duration(s, path string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		r.errorf(r.src.Pos(path), path, "invalid duration %q: want a number with a unit, e.g. 90s, 10m or 2h", s)
	case d <= 0:
		r.errorf(r.src.Pos(path), path, "duration must be positive, got %q", s)
	}
	return d
}

// Retry defaults, chosen for calls to the Kubernetes API and cloud APIs:
// quick first retry, patient later ones.
const (
	defaultBackoffInitial = time.Second
	defaultBackoffFactor  = 2
	defaultBackoffMax     = time.Minute
	backoffJitter         = 0.1
)

func (r *run) retry(spec *v1alpha1.RetrySpec, path string) plan.Retry {
	rt := plan.Retry{Attempts: 1, Backoff: wait.Backoff{
		Duration: defaultBackoffInitial, Factor: defaultBackoffFactor, Cap: defaultBackoffMax, Jitter: backoffJitter, Steps: 1,
	}}
	if spec == nil {
		return rt
	}
	if spec.Attempts < 1 {
		r.errorf(r.src.Pos(path+".attempts"), path+".attempts", "attempts must be at least 1, got %d", spec.Attempts)
	}
	rt.Attempts = max(int(spec.Attempts), 1)
	rt.Backoff.Steps = rt.Attempts
	if b := spec.Backoff; b != nil {
		if d := r.duration(b.Initial, path+".backoff.initial"); d > 0 {
			rt.Backoff.Duration = d
		}
		if d := r.duration(b.Max, path+".backoff.max"); d > 0 {
			rt.Backoff.Cap = d
		}
		if b.Factor != nil {
			if *b.Factor < 1 {
				r.errorf(r.src.Pos(path+".backoff.factor"), path+".backoff.factor", "factor must be at least 1, got %d", *b.Factor)
			}
			rt.Backoff.Factor = float64(max(*b.Factor, 1))
		}
	}
	return rt
}
