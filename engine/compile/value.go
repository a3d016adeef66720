package compile

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/decode"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/engine/template"
)

// exprSite locates an expression: the field path, the whole string value
// holding it, the expression's text and its byte offset in the value.
type exprSite struct {
	path   string
	value  string
	text   string
	offset int
}

// at maps a CEL location (1-based line, 0-based column in runes, relative
// to the expression) to a file position.
func (r *run) at(s exprSite, line, col int) diag.Pos {
	off := 0
	lines := strings.SplitAfter(s.text, "\n")
	for i := 0; i < line-1 && i < len(lines); i++ {
		off += len(lines[i])
	}
	if line >= 1 && line <= len(lines) {
		l := lines[line-1]
		for i := 0; i < col && l != ""; i++ {
			_, size := utf8.DecodeRuneInString(l)
			off += size
			l = l[size:]
		}
	}
	return r.src.Offset(s.path, s.value, s.offset+off)
}

// expr parses, checks references in, and type-checks one expression,
// reporting problems at their position. It also returns the phases read.
func (r *run) expr(scope *celenv.Scope, site exprSite, refs refScope) (*celenv.Program, []string) {
	parsed, iss := scope.Parse(site.text)
	if iss != nil {
		r.report(site, iss)
		return nil, nil
	}
	names, ok := r.checkRefs(parsed, site, refs)
	if !ok {
		return nil, names
	}
	prg, iss := scope.Check(parsed)
	if iss != nil {
		r.report(site, iss)
		return nil, names
	}
	return prg, names
}

func (r *run) report(site exprSite, iss []celenv.Issue) {
	for _, i := range iss {
		msg := strings.ReplaceAll(i.Msg, " (in container '')", "")
		r.errorf(r.at(site, i.Line, i.Col), site.path, "%s", msg)
	}
}

// compileArg compiles an argument value and checks it against the declared
// type.
func (r *run) compileArg(scope *celenv.Scope, raw []byte, path string, want *cel.Type, refs refScope) plan.Value {
	v, err := celenv.FromJSON(raw)
	if err != nil {
		r.errorf(r.src.Pos(path), path, "invalid value: %v", err)
		return nil
	}
	val := r.value(scope, v, path, want, refs)
	if val == nil {
		return nil
	}
	if lit, ok := val.(*plan.Literal); ok && !celenv.Assignable(want, lit.T) {
		// A literal may spell a typed value: "90s" for a duration, an RFC
		// 3339 string for a timestamp.
		c, err := celenv.Conform(lit.V, want, nil)
		if err != nil {
			r.errorf(r.src.Pos(path), path, "%v", err)
			return nil
		}
		return &plan.Literal{V: c, T: want}
	}
	if !celenv.Assignable(want, val.Type()) {
		r.errorf(r.src.Pos(path), path, "must evaluate to %s but got %s", celenv.TypeString(want), celenv.TypeString(val.Type()))
		return nil
	}
	return val
}

// value compiles a YAML value: strings may hold ${{ }}, lists and maps are
// compiled item by item.
func (r *run) value(scope *celenv.Scope, v any, path string, want *cel.Type, refs refScope) plan.Value {
	switch x := v.(type) {
	case string:
		return r.stringValue(scope, x, path, refs)
	case nil:
		return &plan.Literal{V: nil, T: cel.NullType}
	case bool:
		return &plan.Literal{V: x, T: cel.BoolType}
	case int64:
		return &plan.Literal{V: x, T: cel.IntType}
	case float64:
		return &plan.Literal{V: x, T: cel.DoubleType}
	case []any:
		elem := cel.DynType
		if want != nil && want.Kind() == cel.ListKind {
			elem = want.Parameters()[0]
		}
		l := &plan.List{}
		ok := true
		for i, it := range x {
			iv := r.value(scope, it, decode.Index(path, i), elem, refs)
			ok = ok && iv != nil
			l.Items = append(l.Items, iv)
		}
		if !ok {
			return nil
		}
		l.T = cel.ListType(common(l.Items))
		return l
	case map[string]any:
		elem := cel.DynType
		if want != nil && want.Kind() == cel.MapKind {
			elem = want.Parameters()[1]
		}
		m := &plan.Map{Items: map[string]plan.Value{}}
		ok := true
		for _, k := range sortedKeys(x) {
			iv := r.value(scope, x[k], decode.Join(path, k), elem, refs)
			ok = ok && iv != nil
			m.Keys = append(m.Keys, k)
			m.Items[k] = iv
		}
		if !ok {
			return nil
		}
		items := make([]plan.Value, len(m.Keys))
		for i, k := range m.Keys {
			items[i] = m.Items[k]
		}
		m.T = cel.MapType(cel.StringType, common(items))
		return m
	}
	r.errorf(r.src.Pos(path), path, "unsupported value of type %T", v)
	return nil
}

// common is the items' shared type, or dyn when they differ.
func common(items []plan.Value) *cel.Type {
	if len(items) == 0 {
		return cel.DynType
	}
	t := items[0].Type()
	for _, it := range items[1:] {
		if celenv.TypeString(it.Type()) != celenv.TypeString(t) {
			return cel.DynType
		}
	}
	return t
}

func (r *run) stringValue(scope *celenv.Scope, s, path string, refs refScope) plan.Value {
	t, err := template.Parse(s)
	if err != nil {
		var te *template.Error
		if errors.As(err, &te) {
			r.errorf(r.src.Offset(path, s, te.Offset), path, "%s", te.Msg)
		}
		return nil
	}
	if t.Literal() {
		return &plan.Literal{V: s, T: cel.StringType}
	}
	if t.Whole() {
		seg := t.Expr()
		prg, names := r.expr(scope, exprSite{path: path, value: s, text: seg.Text, offset: seg.Offset}, refs)
		if prg == nil {
			return nil
		}
		return &plan.Expr{Program: prg, Refs: names}
	}
	out := &plan.Interpolation{}
	ok := true
	for _, seg := range t.Segments {
		if !seg.Expr {
			out.Parts = append(out.Parts, plan.Part{Text: seg.Text})
			continue
		}
		site := exprSite{path: path, value: s, text: seg.Text, offset: seg.Offset}
		prg, names := r.expr(scope, site, refs)
		out.Refs = append(out.Refs, names...)
		if prg == nil {
			ok = false
			continue
		}
		if k := prg.Type().Kind(); k == cel.ListKind || k == cel.MapKind {
			r.errorf(r.at(site, 1, 0), path, "cannot interpolate a %s into the middle of a string; make the whole string one ${{ }} or join() the list",
				celenv.TypeString(prg.Type()))
			ok = false
			continue
		}
		out.Parts = append(out.Parts, plan.Part{Expr: prg})
	}
	if !ok {
		return nil
	}
	return out
}

// compileOutputs compiles the action's outputs, which are computed after
// every main phase succeeded and before the finally phases.
func (r *run) compileOutputs(ac *actionCtx, path string, outputs map[string]apiextensionsv1.JSON) *plan.Map {
	m := &plan.Map{Items: map[string]plan.Value{}, T: cel.MapType(cel.StringType, cel.DynType)}
	ok := true
	for _, k := range sortedKeys(outputs) {
		p := decode.Join(path, k)
		v, err := celenv.FromJSON(outputs[k].Raw)
		if err != nil {
			r.errorf(r.src.Pos(p), p, "invalid value: %v", err)
			ok = false
			continue
		}
		val := r.value(ac.scope, v, p, cel.DynType, refScope{action: ac})
		if val == nil {
			ok = false
			continue
		}
		m.Keys = append(m.Keys, k)
		m.Items[k] = val
	}
	if !ok {
		return nil
	}
	return m
}
