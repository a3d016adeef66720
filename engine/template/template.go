// Package template splits blueprint strings into literal text and ${{ expr }}
// expressions. A string that is exactly one expression yields the
// expression's typed value; expressions inside longer text are stringified.
package template

import (
	"fmt"
	"strings"
)

const (
	open  = "${{"
	close = "}}"
)

// Segment is a piece of a template: literal text, or an expression.
type Segment struct {
	Text   string // literal text, or the expression's source
	Expr   bool   // Text is a CEL expression
	Offset int    // byte offset of Text within the template string
}

// Template is a parsed string.
type Template struct {
	Segments []Segment
}

// Whole reports whether the string is exactly one expression (surrounding
// white space aside), so it evaluates to a typed value.
func (t Template) Whole() bool {
	exprs := 0
	for _, s := range t.Segments {
		switch {
		case s.Expr:
			exprs++
		case strings.TrimSpace(s.Text) != "":
			return false
		}
	}
	return exprs == 1
}

// Literal reports whether the string has no expression at all.
func (t Template) Literal() bool {
	for _, s := range t.Segments {
		if s.Expr {
			return false
		}
	}
	return true
}

// Expr returns the only expression of a Whole template.
func (t Template) Expr() Segment {
	for _, s := range t.Segments {
		if s.Expr {
			return s
		}
	}
	return Segment{}
}

// Error is a template syntax error at a byte offset of the string.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Parse splits s into segments.
func Parse(s string) (Template, error) {
	var t Template
	pos := 0
	for {
		i := strings.Index(s[pos:], open)
		if i < 0 {
			if pos < len(s) {
				t.Segments = append(t.Segments, Segment{Text: s[pos:], Offset: pos})
			}
			return t, nil
		}
		start := pos + i
		if start > pos {
			t.Segments = append(t.Segments, Segment{Text: s[pos:start], Offset: pos})
		}
		body := start + len(open)
		end, err := closing(s, body)
		if err != nil {
			return Template{}, &Error{Offset: start, Msg: err.Error()}
		}
		text := s[body:end]
		trimmed := strings.TrimLeft(text, " \t\n")
		if strings.TrimSpace(trimmed) == "" {
			return Template{}, &Error{Offset: start, Msg: "empty expression ${{ }}"}
		}
		offset := body + len(text) - len(trimmed)
		t.Segments = append(t.Segments, Segment{Text: strings.TrimRight(trimmed, " \t\n"), Expr: true, Offset: offset})
		pos = end + len(close)
	}
}

// closing finds the "}}" that ends an expression starting at from, skipping
// braces and quotes inside the expression (map literals, strings).
func closing(s string, from int) (int, error) {
	depth := 0
	var quote byte
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '}' && strings.HasPrefix(s[i:], close):
			return i, nil
		}
	}
	if quote != 0 {
		return 0, fmt.Errorf("unterminated string literal in ${{ expression")
	}
	return 0, fmt.Errorf("unclosed ${{: expected }}")
}
