package celenv

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
)

// ParseType reads a CEL type as blueprint authors write it: bool, int, uint,
// double, string, bytes, duration, timestamp, dyn, list(T) and map(K, V).
func ParseType(s string) (*cel.Type, error) {
	p := typeParser{in: s}
	t, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("invalid type %q: %w", s, err)
	}
	if rest := strings.TrimSpace(p.in[p.pos:]); rest != "" {
		return nil, fmt.Errorf("invalid type %q: unexpected %q", s, rest)
	}
	return t, nil
}

var scalarTypes = map[string]*cel.Type{
	"bool": cel.BoolType, "int": cel.IntType, "uint": cel.UintType,
	"double": cel.DoubleType, "string": cel.StringType, "bytes": cel.BytesType,
	"duration": cel.DurationType, "timestamp": cel.TimestampType, "dyn": cel.DynType,
}

type typeParser struct {
	in  string
	pos int
}

func (p *typeParser) parse() (*cel.Type, error) {
	name := p.ident()
	switch name {
	case "list":
		args, err := p.args(1)
		if err != nil {
			return nil, err
		}
		return cel.ListType(args[0]), nil
	case "map":
		args, err := p.args(2)
		if err != nil {
			return nil, err
		}
		switch args[0] {
		case cel.StringType, cel.IntType, cel.UintType, cel.BoolType, cel.DynType:
		default:
			return nil, fmt.Errorf("map keys must be string, int, uint or bool, got %s", args[0])
		}
		return cel.MapType(args[0], args[1]), nil
	case "":
		return nil, fmt.Errorf("expected a type name at offset %d", p.pos)
	}
	if t, ok := scalarTypes[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("unknown type %q (want bool, int, uint, double, string, bytes, duration, timestamp, dyn, list(T) or map(K, V))", name)
}

func (p *typeParser) ident() string {
	p.space()
	start := p.pos
	for p.pos < len(p.in) && (isLetter(p.in[p.pos]) || (p.pos > start && isDigit(p.in[p.pos]))) {
		p.pos++
	}
	return p.in[start:p.pos]
}

func (p *typeParser) args(n int) ([]*cel.Type, error) {
	if !p.consume('(') {
		return nil, fmt.Errorf("expected ( at offset %d", p.pos)
	}
	var out []*cel.Type
	for i := range n {
		if i > 0 && !p.consume(',') {
			return nil, fmt.Errorf("expected , at offset %d", p.pos)
		}
		t, err := p.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if !p.consume(')') {
		return nil, fmt.Errorf("expected ) at offset %d", p.pos)
	}
	return out, nil
}

func (p *typeParser) consume(c byte) bool {
	p.space()
	if p.pos < len(p.in) && p.in[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *typeParser) space() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

func isLetter(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// Assignable reports whether a value of type got may be passed where want is
// declared. dyn on either side is accepted (it is checked again at run
// time); an int may stand for a double.
func Assignable(want, got *cel.Type) bool {
	if want == nil || got == nil {
		return false
	}
	wk, gk := want.Kind(), got.Kind()
	switch {
	case wk == cel.DynKind || gk == cel.DynKind:
		return true
	case wk == cel.DoubleKind && gk == cel.IntKind:
		return true
	case gk == cel.NullTypeKind:
		return false
	case wk != gk:
		return false
	case wk == cel.StructKind || wk == cel.OpaqueKind:
		return want.TypeName() == got.TypeName()
	}
	wp, gp := want.Parameters(), got.Parameters()
	if len(wp) != len(gp) {
		return false
	}
	for i := range wp {
		if !Assignable(wp[i], gp[i]) {
			return false
		}
	}
	return true
}

// TypeString renders a type the way ParseType reads it.
func TypeString(t *cel.Type) string {
	if t == nil {
		return "dyn"
	}
	switch t.Kind() {
	case cel.ListKind:
		return "list(" + TypeString(t.Parameters()[0]) + ")"
	case cel.MapKind:
		return "map(" + TypeString(t.Parameters()[0]) + ", " + TypeString(t.Parameters()[1]) + ")"
	case cel.DurationKind:
		return "duration"
	case cel.TimestampKind:
		return "timestamp"
	}
	return t.String()
}
