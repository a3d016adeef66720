package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/celenv"
)

// Value is a compiled argument or output value: a literal, an expression, an
// interpolated string, or a list or map of values.
type Value interface {
	// Eval computes the value from the CEL variables.
	Eval(ctx context.Context, vars map[string]any) (any, error)
	// Type is the value's static CEL type.
	Type() *cel.Type
	// String is the value's source form.
	String() string
	// PhaseRefs lists the phases the value reads, in order of appearance.
	PhaseRefs() []string
}

// Literal is a constant.
type Literal struct {
	V any
	T *cel.Type
}

func (l *Literal) Eval(context.Context, map[string]any) (any, error) { return l.V, nil }
func (l *Literal) Type() *cel.Type                                   { return l.T }
func (l *Literal) PhaseRefs() []string                               { return nil }
func (l *Literal) String() string {
	if s, ok := l.V.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(l.V)
	if err != nil {
		return fmt.Sprint(l.V)
	}
	return string(b)
}

// Expr is a whole-string ${{ expr }}: it yields the expression's typed value.
type Expr struct {
	Program *celenv.Program
	Refs    []string
}

func (e *Expr) Eval(ctx context.Context, vars map[string]any) (any, error) {
	v, err := e.Program.Eval(ctx, vars)
	if err != nil {
		return nil, fmt.Errorf("${{ %s }}: %w", e.Program.Source(), err)
	}
	return v, nil
}
func (e *Expr) Type() *cel.Type     { return e.Program.Type() }
func (e *Expr) PhaseRefs() []string { return e.Refs }
func (e *Expr) String() string      { return "${{ " + e.Program.Source() + " }}" }

// Interpolation is a string with embedded expressions; each is stringified.
type Interpolation struct {
	Parts []Part
	Refs  []string
}

// Part is literal text or an expression of an Interpolation.
type Part struct {
	Text string
	Expr *celenv.Program // nil for text
}

func (s *Interpolation) Type() *cel.Type     { return cel.StringType }
func (s *Interpolation) PhaseRefs() []string { return s.Refs }
func (s *Interpolation) String() string {
	var b strings.Builder
	for _, p := range s.Parts {
		if p.Expr == nil {
			b.WriteString(p.Text)
			continue
		}
		b.WriteString("${{ " + p.Expr.Source() + " }}")
	}
	return strconv.Quote(b.String())
}

func (s *Interpolation) Eval(ctx context.Context, vars map[string]any) (any, error) {
	var b strings.Builder
	for _, p := range s.Parts {
		if p.Expr == nil {
			b.WriteString(p.Text)
			continue
		}
		v, err := p.Expr.Eval(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("${{ %s }}: %w", p.Expr.Source(), err)
		}
		str, err := Stringify(v)
		if err != nil {
			return nil, fmt.Errorf("${{ %s }}: %w", p.Expr.Source(), err)
		}
		b.WriteString(str)
	}
	return b.String(), nil
}

// Stringify renders a scalar for interpolation. Lists and maps are refused:
// their text form would be ambiguous inside a command line.
func Stringify(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Duration:
		return x.String(), nil
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("cannot interpolate a %T into a string; use a whole-string ${{ }} or join()", v)
}

// List is a YAML list whose items are values.
type List struct {
	Items []Value
	T     *cel.Type
}

func (l *List) Type() *cel.Type { return l.T }
func (l *List) PhaseRefs() []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.PhaseRefs()...)
	}
	return out
}
func (l *List) String() string {
	parts := make([]string, len(l.Items))
	for i, it := range l.Items {
		parts[i] = it.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
func (l *List) Eval(ctx context.Context, vars map[string]any) (any, error) {
	out := make([]any, len(l.Items))
	for i, it := range l.Items {
		v, err := it.Eval(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// Map is a YAML mapping whose values are values; Keys keeps source order.
type Map struct {
	Keys  []string
	Items map[string]Value
	T     *cel.Type
}

func (m *Map) Type() *cel.Type { return m.T }
func (m *Map) PhaseRefs() []string {
	var out []string
	for _, k := range m.Keys {
		out = append(out, m.Items[k].PhaseRefs()...)
	}
	return out
}
func (m *Map) String() string {
	parts := make([]string, len(m.Keys))
	for i, k := range m.Keys {
		parts[i] = k + ": " + m.Items[k].String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
func (m *Map) Eval(ctx context.Context, vars map[string]any) (any, error) {
	out := make(map[string]any, len(m.Keys))
	for _, k := range m.Keys {
		v, err := m.Items[k].Eval(ctx, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}
