package decode

import (
	"bytes"
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/snapflow/snapflow/engine/diag"
)

// Source maps the field paths of a decoded document to where they stand in
// its file, so the compiler can point at a field, or inside an expression.
// Positions follow diag.Pos; yaml.v3's own line numbers, which also break at
// NEL, LS and PS, are translated.
type Source struct {
	File   string
	text   string                // the input as yaml.v3 reads it: UTF-8, no byte order mark
	lines  []int                 // byte offset of each line's start
	ylines []int                 // the same, by yaml.v3's count
	yends  []int                 // byte offset of each yaml.v3 line's break
	chunks []int32               // characters before byte i*chunk
	nodes  map[string]*yaml.Node // value node per path
	keys   map[string]*yaml.Node // key node per path (mapping entries only)
	// reported marks paths the decoder already found wrong.
	reported map[string]bool
}

// chunk is how many bytes of the text Source counts characters in at a time.
const chunk = 64

func newSource(file string, data []byte) *Source {
	s := &Source{
		File:  file,
		text:  yamlText(data),
		nodes: map[string]*yaml.Node{},
		keys:  map[string]*yaml.Node{},

		reported: map[string]bool{},
	}
	s.lines, _ = lineTable(s.text, false)
	s.ylines, s.yends = lineTable(s.text, true)
	s.chunks = make([]int32, len(s.text)/chunk+1)
	for i := 1; i < len(s.chunks); i++ {
		s.chunks[i] = s.chunks[i-1] + int32(runeStarts(s.text[(i-1)*chunk:i*chunk]))
	}
	return s
}

// yamlText is data as yaml.v3 reads it: a file with a UTF-16 byte order mark
// is decoded, a UTF-8 byte order mark dropped.
func yamlText(data []byte) string {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		order = binary.BigEndian
	default:
		return strings.TrimPrefix(string(data), "\ufeff")
	}
	u := make([]uint16, (len(data)-2)/2)
	for i := range u {
		u[i] = order.Uint16(data[2+2*i:])
	}
	return string(utf16.Decode(u))
}

// lineTable lists the byte offsets at which lines start and their line
// breaks do. With yamlBreaks, NEL, LS and PS end a line too, as for yaml.v3.
func lineTable(text string, yamlBreaks bool) (starts, ends []int) {
	starts = []int{0}
	for i := 0; i < len(text); i++ {
		if n := breakLen(text[i:], yamlBreaks); n > 0 {
			ends = append(ends, i)
			i += n - 1
			starts = append(starts, i+1)
		}
	}
	return starts, append(ends, len(text))
}

// breakLen is the length of the line break s starts with, or 0.
func breakLen(s string, yamlBreaks bool) int {
	switch {
	case strings.HasPrefix(s, "\r\n"):
		return 2
	case s[0] == '\n' || s[0] == '\r':
		return 1
	case !yamlBreaks:
		return 0
	case strings.HasPrefix(s, "\u0085"):
		return 2
	case strings.HasPrefix(s, "\u2028"), strings.HasPrefix(s, "\u2029"):
		return 3
	}
	return 0
}

// runeStarts counts the characters that start in s.
func runeStarts(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if utf8.RuneStart(s[i]) {
			n++
		}
	}
	return n
}

// runesBefore counts the characters before byte offset off.
func (s *Source) runesBefore(off int) int {
	k := off / chunk
	return int(s.chunks[k]) + runeStarts(s.text[k*chunk:off])
}

// runeOffset is the byte offset of character r (0-based), or the text's length.
func (s *Source) runeOffset(r int) int {
	k := sort.Search(len(s.chunks), func(i int) bool { return int(s.chunks[i]) > r }) - 1
	n := int(s.chunks[k])
	for i := k * chunk; i < len(s.text); i++ {
		if utf8.RuneStart(s.text[i]) {
			if n == r {
				return i
			}
			n++
		}
	}
	return len(s.text)
}

// at translates yaml.v3's line and column (1-based, in characters) to a
// position, clamped to the line.
func (s *Source) at(line, col int) diag.Pos {
	line = min(max(line, 1), len(s.ylines))
	start := s.ylines[line-1]
	off := s.runeOffset(s.runesBefore(start) + max(col, 1) - 1)
	return s.posAt(min(off, s.yends[line-1]))
}

// posAt is the position of byte offset off.
func (s *Source) posAt(off int) diag.Pos {
	i := sort.SearchInts(s.lines, off+1) - 1
	return diag.Pos{File: s.File, Line: i + 1, Col: s.runesBefore(off) - s.runesBefore(s.lines[i]) + 1}
}

// yamlLine is line (1-based) as yaml.v3 counts lines, without its break.
func (s *Source) yamlLine(line int) string {
	return s.text[s.ylines[line-1]:s.yends[line-1]]
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
	return s.at(n.Line, n.Column)
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
	// yaml.v3 turns the line breaks in a value into "\n" but keeps LS and PS;
	// a "\r" or NEL there is an escape.
	lineInValue, start := 0, 0
	for i, r := range value[:off] {
		if r == '\n' || r == '\u2028' || r == '\u2029' {
			lineInValue++
			start = i + utf8.RuneLen(r)
		}
	}
	col := utf8.RuneCountInString(value[start:off])
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line := n.Line + 1 + lineInValue
		return s.at(line, s.indent(n.Line+1)+1+col)
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if lineInValue == 0 {
			return s.at(n.Line, n.Column+1+col)
		}
	default:
		if lineInValue == 0 {
			return s.at(n.Line, n.Column+col)
		}
	}
	return s.at(n.Line+lineInValue, s.indent(n.Line+lineInValue)+1+col)
}

// indent is the indentation of the first non-blank line from line on.
func (s *Source) indent(line int) int {
	for i := max(line, 1); i <= len(s.ylines); i++ {
		l := s.yamlLine(i)
		if strings.TrimSpace(l) != "" {
			return len(l) - len(strings.TrimLeft(l, " "))
		}
	}
	return 0
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
