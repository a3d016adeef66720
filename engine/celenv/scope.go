package celenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common"
)

// Scope is the environment of one action; expressions compile in it.
type Scope struct {
	env *cel.Env
}

// Issue is a problem inside one expression. Line is 1-based and Col 0-based,
// both relative to the expression's text.
type Issue struct {
	Line, Col int
	Msg       string
}

// Parse parses expr without type-checking it.
func (s *Scope) Parse(expr string) (*cel.Ast, []Issue) {
	ast, iss := s.env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, issues(iss.Errors())
	}
	return ast, nil
}

// Check type-checks a parsed expression, estimates its worst-case cost and
// plans it for evaluation.
func (s *Scope) Check(parsed *cel.Ast) (*Program, []Issue) {
	ast, iss := s.env.Check(parsed)
	if iss != nil && iss.Err() != nil {
		return nil, issues(iss.Errors())
	}
	est, err := s.env.EstimateCost(ast, estimator{})
	if err != nil {
		return nil, []Issue{{Line: 1, Msg: fmt.Sprintf("cannot estimate cost: %v", err)}}
	}
	if est.Max > PerExpressionCostLimit {
		return nil, []Issue{{Line: 1, Msg: fmt.Sprintf(
			"estimated cost %d exceeds the limit of %d (lists are assumed to hold up to %d items); simplify the expression",
			est.Max, PerExpressionCostLimit, EstimatedMaxListSize)}}
	}
	return &Program{env: s.env, ast: ast, typ: ast.OutputType(), src: ast.Source().Content()}, nil
}

// Compile parses and checks expr.
func (s *Scope) Compile(expr string) (*Program, []Issue) {
	ast, iss := s.Parse(expr)
	if iss != nil {
		return nil, iss
	}
	return s.Check(ast)
}

func issues(errs []*common.Error) []Issue {
	out := make([]Issue, 0, len(errs))
	for _, e := range errs {
		out = append(out, Issue{Line: e.Location.Line(), Col: e.Location.Column(), Msg: e.Message})
	}
	return out
}

// estimator bounds the sizes of values the checker cannot see.
type estimator struct{}

func (estimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	switch n.Type().Kind() {
	case cel.ListKind, cel.MapKind, cel.DynKind:
		return &checker.SizeEstimate{Min: 0, Max: EstimatedMaxListSize}
	case cel.StringKind, cel.BytesKind:
		return &checker.SizeEstimate{Min: 0, Max: EstimatedMaxStringSize}
	}
	return nil
}

func (estimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// ErrCostLimit marks an evaluation stopped by the run-time cost limit.
var ErrCostLimit = errors.New("expression exceeded its cost limit")

// Program is a checked expression, ready to evaluate. It is safe for
// concurrent use. Planning for evaluation is deferred to the first Eval: it
// is the costliest step of compiling, and most expressions of a blueprint
// are evaluated in only one of its actions.
type Program struct {
	env *cel.Env
	ast *cel.Ast
	typ *cel.Type
	src string

	once    sync.Once
	prg     cel.Program
	planErr error
}

func (p *Program) plan() (cel.Program, error) {
	p.once.Do(func() {
		p.prg, p.planErr = p.env.Program(p.ast,
			cel.CostLimit(PerExpressionCostLimit),
			cel.InterruptCheckFrequency(interruptCheckFrequency),
		)
		if p.planErr != nil {
			p.planErr = fmt.Errorf("cannot plan expression: %w", p.planErr)
		}
	})
	return p.prg, p.planErr
}

// Type is the expression's static type.
func (p *Program) Type() *cel.Type { return p.typ }

// Source is the expression's text.
func (p *Program) Source() string { return p.src }

// Eval evaluates the expression over vars and converts the result to plain
// Go values (see Native).
func (p *Program) Eval(ctx context.Context, vars map[string]any) (any, error) {
	prg, err := p.plan()
	if err != nil {
		return nil, err
	}
	out, _, err := prg.ContextEval(ctx, vars)
	if err != nil {
		if strings.Contains(err.Error(), "cost limit exceeded") {
			return nil, fmt.Errorf("%w of %d: %s", ErrCostLimit, PerExpressionCostLimit, p.src)
		}
		return nil, err
	}
	return Native(out)
}
