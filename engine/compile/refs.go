package compile

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// refScope says which phases an expression may read: those that ran before
// the phase from. A nil from means the action's outputs, computed after all
// main phases.
type refScope struct {
	action *actionCtx
	from   *phaseDecl
}

// phaseRef is one phases.X (field empty) or phases.X.Y in an expression.
type phaseRef struct {
	phase, field string
	id           int64
}

// checkRefs checks every phases.X and phases.X.Y of a parsed expression
// against the action's phases and their declared outputs. It reports with
// suggestions ("did you mean") that the type checker could not give, and
// returns the phases read.
func (r *run) checkRefs(parsed *cel.Ast, site exprSite, rs refScope) ([]string, bool) {
	native := parsed.NativeRep()
	var refs []phaseRef
	guarded := map[string]bool{}
	inner := map[int64]bool{} // the phases.X inside a phases.X.Y, reported with it
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind || inner[e.ID()] {
			return
		}
		sel := e.AsSelect()
		ref, ok := asPhaseRef(sel)
		if !ok {
			return
		}
		if ref.field != "" {
			inner[sel.Operand().ID()] = true
		}
		ref.id = e.ID()
		if sel.IsTestOnly() {
			guarded[ref.phase] = true
		}
		refs = append(refs, ref)
	}))
	var names []string
	seen := map[string]bool{}
	ok := true
	for _, ref := range refs {
		// A select's location is its dot; point at the field name after it.
		loc := native.SourceInfo().GetStartLocation(ref.id)
		pos := r.at(site, loc.Line(), loc.Column()+1)
		if msg := r.refProblem(ref, rs, guarded); msg != "" {
			r.errorf(pos, site.path, "%s", msg)
			ok = false
		}
		if !seen[ref.phase] {
			seen[ref.phase] = true
			names = append(names, ref.phase)
		}
	}
	return names, ok
}

// asPhaseRef recognizes phases.X and phases.X.Y.
func asPhaseRef(sel ast.SelectExpr) (phaseRef, bool) {
	op := sel.Operand()
	if op.Kind() == ast.IdentKind && op.AsIdent() == celenv.VarPhases {
		return phaseRef{phase: sel.FieldName()}, true
	}
	if op.Kind() == ast.SelectKind {
		inner := op.AsSelect()
		if in := inner.Operand(); in.Kind() == ast.IdentKind && in.AsIdent() == celenv.VarPhases {
			return phaseRef{phase: inner.FieldName(), field: sel.FieldName()}, true
		}
	}
	return phaseRef{}, false
}

// refProblem explains why ref cannot be read from rs, or returns "".
func (r *run) refProblem(ref phaseRef, rs refScope, guarded map[string]bool) string {
	ac := rs.action
	d, ok := ac.byName[ref.phase]
	if !ok {
		return fmt.Sprintf("no phase %q in action %q%s", ref.phase, ac.name, diag.Suggest(ref.phase, sortedKeys(ac.byName)))
	}
	if ref.field == "" {
		return r.orderProblem(d, rs, guarded, "phases."+ref.phase)
	}
	if msg := r.orderProblem(d, rs, guarded, "phases."+ref.phase+"."+ref.field); msg != "" {
		return msg
	}
	if d.fn == nil {
		return "" // the unknown function is reported at its phase
	}
	sig := d.fn.Signature()
	if _, ok := sig.Output(ref.field); ok {
		return ""
	}
	if len(sig.Outputs) == 0 {
		return fmt.Sprintf("phase %q (func %s) has no outputs", ref.phase, sig.Name)
	}
	names := make([]string, len(sig.Outputs))
	for i, o := range sig.Outputs {
		names[i] = o.Name
	}
	return fmt.Sprintf("phase %q has no output %q%s", ref.phase, ref.field, diag.Suggest(ref.field, names))
}

// orderProblem checks that phase d has run by the time rs evaluates.
func (r *run) orderProblem(d *phaseDecl, rs refScope, guarded map[string]bool, expr string) string {
	from := rs.from
	name := d.spec.Name
	switch {
	case from == nil && d.stage == v1alpha1.PhaseStageFinally:
		return fmt.Sprintf("action outputs are computed before finally phases run; %q is a finally phase", name)
	case from == nil:
		return ""
	case d == from:
		return fmt.Sprintf("phase %q cannot read its own outputs", name)
	case from.stage == v1alpha1.PhaseStageMain && d.stage == v1alpha1.PhaseStageFinally:
		return fmt.Sprintf("phase %q is a finally phase; it runs after phase %q", name, from.spec.Name)
	case d.stage == from.stage && d.index > from.index:
		return fmt.Sprintf("phase %q runs after phase %q; only earlier phases' outputs can be read", name, from.spec.Name)
	case from.stage == v1alpha1.PhaseStageFinally && d.stage == v1alpha1.PhaseStageMain && !guarded[name]:
		return fmt.Sprintf("phase %q may not have run when finally phases run; guard the reference with has(%s)", name, expr)
	}
	return ""
}
