package lintplan

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/parser"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/plan"
)

// planReport is what snapflow plan prints, as text or as JSON.
type planReport struct {
	Blueprint string          `json:"blueprint"`
	File      string          `json:"file"`
	Action    string          `json:"action"`
	Timeout   string          `json:"timeout,omitempty"`
	Workload  celenv.Workload `json:"workload"`
	Params    []paramReport   `json:"params"`
	Phases    []phaseReport   `json:"phases"`
	Outputs   []outputReport  `json:"outputs,omitempty"`
	Errors    int             `json:"errors"` // arguments and conditions that failed to evaluate
}

type paramReport struct {
	Name  string        `json:"name"`
	Type  string        `json:"type"`
	Value cli.JSONValue `json:"value"`
	From  string        `json:"from"` // given or default
}

type phaseReport struct {
	Name    string       `json:"name"`
	Stage   string       `json:"stage"`
	Func    string       `json:"func"`
	When    *valueReport `json:"when,omitempty"`
	Timeout string       `json:"timeout,omitempty"`
	Retry   *retryReport `json:"retry,omitempty"`
	Args    []argReport  `json:"args"`
}

type retryReport struct {
	Attempts int     `json:"attempts"`
	Initial  string  `json:"initial"`
	Factor   float64 `json:"factor"`
	Max      string  `json:"max"`
}

type argReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	valueReport
}

// valueReport is an evaluated value, or one known only at run time, or
// the error evaluating it gave.
type valueReport struct {
	Source  string        `json:"source"`
	Value   cli.JSONValue `json:"value,omitempty"`
	RunTime bool          `json:"runTime,omitempty"`
	Phases  []string      `json:"phases,omitempty"` // read by a run-time value
	Error   string        `json:"error,omitempty"`
}

type outputReport struct {
	Name   string   `json:"name"`
	Source string   `json:"source"`
	Phases []string `json:"phases,omitempty"`
}

// evaluate builds the report of action over the inputs.
func evaluate(ctx context.Context, bp *plan.Blueprint, action *plan.Action, in *planInputs) *planReport {
	rep := &planReport{Blueprint: bp.Name, File: bp.File, Action: action.Name, Workload: in.Workload}
	if action.Timeout > 0 {
		rep.Timeout = action.Timeout.String()
	}
	for _, p := range bp.Params {
		from := "default"
		if in.given[p.Name] {
			from = "given"
		}
		rep.Params = append(rep.Params, paramReport{Name: p.Name, Type: celenv.TypeString(p.Type), Value: cli.MustJSON(in.bound[p.Name]), From: from})
	}
	vars := in.Vars(in.bound, nil)
	for _, p := range action.AllPhases() {
		rep.Phases = append(rep.Phases, evalPhase(ctx, p, vars))
	}
	if action.Outputs != nil {
		for _, k := range action.Outputs.Keys {
			v := action.Outputs.Items[k]
			rep.Outputs = append(rep.Outputs, outputReport{Name: k, Source: v.String(), Phases: unique(v.PhaseRefs())})
		}
	}
	rep.Errors = countErrors(rep)
	return rep
}

// evalPhase reports one phase: its when, timeout, retry and args.
func evalPhase(ctx context.Context, p *plan.Phase, vars map[string]any) phaseReport {
	pr := phaseReport{Name: p.Name, Stage: string(p.Stage), Func: p.Func.Signature().Name, Args: []argReport{}}
	if p.When != nil {
		w := evalWhen(ctx, p.When, vars)
		pr.When = &w
	}
	if p.Timeout > 0 {
		pr.Timeout = p.Timeout.String()
	}
	if r := p.Retry; r.Attempts > 1 {
		pr.Retry = &retryReport{Attempts: r.Attempts, Initial: r.Backoff.Duration.String(), Factor: r.Backoff.Factor, Max: r.Backoff.Cap.String()}
	}
	for _, a := range p.Args {
		pr.Args = append(pr.Args, argReport{Name: a.Name, Type: celenv.TypeString(a.Type), valueReport: evalValue(ctx, a.Value, vars)})
	}
	return pr
}

// evalValue evaluates a value that reads no phase outputs.
func evalValue(ctx context.Context, v plan.Value, vars map[string]any) valueReport {
	r := valueReport{Source: v.String()}
	if refs := v.PhaseRefs(); len(refs) > 0 {
		r.RunTime, r.Phases = true, unique(refs)
		return r
	}
	got, err := v.Eval(ctx, vars)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if r.Value, err = cli.ToJSON(got); err != nil {
		r.Error = err.Error()
	}
	return r
}

// evalWhen evaluates a when condition that reads no phase outputs.
func evalWhen(ctx context.Context, when *celenv.Program, vars map[string]any) valueReport {
	r := valueReport{Source: when.Source()}
	if refs, reads := phaseRefs(when.Source()); reads {
		r.RunTime, r.Phases = true, refs
		return r
	}
	got, err := when.Eval(ctx, vars)
	if err == nil {
		if _, ok := got.(bool); !ok {
			err = fmt.Errorf("when must be a bool, got %T", got)
		}
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Value = cli.MustJSON(got)
	return r
}

// phaseRefs lists the phases an expression reads (phases.X), in order, and
// whether it reads phases at all (a bare `phases` names none).
func phaseRefs(expr string) ([]string, bool) {
	parsed, errs := parser.Parse(common.NewTextSource(expr))
	if errs != nil && len(errs.GetErrors()) > 0 {
		return nil, false // the compiler parsed it; not reached
	}
	var names []string
	reads := false
	ast.PreOrderVisit(parsed.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.IdentKind:
			reads = reads || e.AsIdent() == celenv.VarPhases
		case ast.SelectKind:
			sel := e.AsSelect()
			if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == celenv.VarPhases {
				names = append(names, sel.FieldName())
			}
		}
	}))
	return unique(names), reads
}

func unique(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func countErrors(rep *planReport) int {
	n := 0
	for _, p := range rep.Phases {
		if p.When != nil && p.When.Error != "" {
			n++
		}
		for _, a := range p.Args {
			if a.Error != "" {
				n++
			}
		}
	}
	return n
}
