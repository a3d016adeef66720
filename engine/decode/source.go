package decode

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/snapflow/snapflow/engine/diag"
)

// Source maps the field paths of a decoded document to where they stand in
// its file, so the compiler can point at a field, or inside an expression.
type Source struct {
	File  string
	lines []string
	nodes map[string]*yaml.Node // value node per path
	keys  map[string]*yaml.Node // key node per path (mapping entries only)
	// reported marks paths the decoder already found wrong.
	reported map[string]bool
}

func newSource(file string, data []byte) *Source {
	return &Source{
		File:  file,
		lines: strings.Split(string(data), "\n"),
		nodes: map[string]*yaml.Node{},
		keys:  map[string]*yaml.Node{},

		reported: map[string]bool{},
	}
}

// Pos is where the value at path starts. An unknown path falls back to its
// nearest recorded ancestor, so every diagnostic has a position.
func (s *Source) Pos(path string) diag.Pos {
	for p := path; ; p = Parent(p) {
		if n, ok := s.nodes[p]; ok {
			return s.nodePos(n)
		}
		if p == "" {
			return diag.Pos{File: s.File}
		}
	}
}

// Reported reports whether the decoder already reported a problem with the
// field at path (so its value was dropped).
func (s *Source) Reported(path string) bool { return s.reported[path] }

// KeyPos is where the key of the mapping entry at path starts, falling back
// to Pos.
func (s *Source) KeyPos(path string) diag.Pos {
	if n, ok := s.keys[path]; ok {
		return s.nodePos(n)
	}
	return s.Pos(path)
}

// Has reports whether the document sets the field at path.
func (s *Source) Has(path string) bool {
	_, ok := s.nodes[path]
	return ok
}

func (s *Source) nodePos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: s.File, Line: n.Line, Col: n.Column}
}

// Offset is the file position of byte offset off within the string value at
// path: inside quotes, inside block scalars (| and >) or plain. Escapes in
// quoted strings are not accounted for.
func (s *Source) Offset(path string, value string, off int) diag.Pos {
	n, ok := s.nodes[path]
	if !ok || n.Kind != yaml.ScalarNode {
		return s.Pos(path)
	}
	off = min(max(off, 0), len(value))
	lineInValue := strings.Count(value[:off], "\n")
	col := off - (strings.LastIndex(value[:off], "\n") + 1)
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line := n.Line + 1 + lineInValue
		return s.clamp(line, s.indent(n.Line+1)+1+col)
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if lineInValue == 0 {
			return s.clamp(n.Line, n.Column+1+col)
		}
	default:
		if lineInValue == 0 {
			return s.clamp(n.Line, n.Column+col)
		}
	}
	return s.clamp(n.Line+lineInValue, s.indent(n.Line+lineInValue)+1+col)
}

// indent is the indentation of the first non-blank line from line on.
func (s *Source) indent(line int) int {
	for i := line - 1; i >= 0 && i < len(s.lines); i++ {
		l := s.lines[i]
		if strings.TrimSpace(l) != "" {
			return len(l) - len(strings.TrimLeft(l, " "))
		}
	}
	return 0
}

// clamp keeps a computed position inside the file.
func (s *Source) clamp(line, col int) diag.Pos {
	line = min(max(line, 1), len(s.lines))
	col = min(max(col, 1), len(s.lines[line-1])+1)
	return diag.Pos{File: s.File, Line: line, Col: col}
}

// Join appends a map key to a path, quoting keys that would be ambiguous.
func Join(path, key string) string {
	if strings.ContainsAny(key, ".[]\" ") || key == "" {
		key = "[" + strconv.Quote(key) + "]"
		return path + key
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a list index to a path.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// Parent drops the last element of a path; the parent of a top-level field is
// the empty path (the document).
func Parent(path string) string {
	if path == "" {
		return ""
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		if path[i] == ']' {
			return path[:i+1]
		}
		return path[:i]
	}
	return ""
}
