package decode

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/snapflow/snapflow/engine/diag"
)

// maxDepth bounds nesting, so alias cycles and hostile input cannot recurse
// without end.
const maxDepth = 64

// maxNodes bounds the values a document expands to, so nested aliases
// ("billion laughs") cannot make decoding take exponential time. Real
// blueprints have a few hundred.
const maxNodes = 100_000

// walker turns a yaml.Node tree into a JSON-ready tree shaped like a Go type,
// recording each node's position and reporting what does not fit.
type walker struct {
	src    *Source
	ds     *diag.Diagnostics
	depth  int
	nodes  int
	fields map[reflect.Type]map[string]reflect.Type
}

// report records a problem and marks the path as reported.
func (w *walker) report(pos diag.Pos, path, format string, args ...any) {
	w.src.reported[path] = true
	w.ds.Add(pos, path, format, args...)
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

func (w *walker) walk(n *yaml.Node, path string, t reflect.Type) any {
	if w.depth >= maxDepth {
		w.report(w.src.nodePos(n), path, "nested more than %d levels deep", maxDepth)
		return nil
	}
	if w.nodes++; w.nodes > maxNodes {
		if w.nodes == maxNodes+1 {
			w.report(w.src.nodePos(n), path, "document expands to more than %d values (aliases included)", maxNodes)
		}
		return nil
	}
	w.depth++
	defer func() { w.depth-- }()
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	w.src.nodes[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return w.free(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.structure(n, path, t)
	case reflect.Map:
		return w.mapping(n, path, func(key string) reflect.Type { return t.Elem() })
	case reflect.Slice:
		return w.sequence(n, path, t.Elem())
	default:
		return w.scalar(n, path, t.Kind())
	}
}

func (w *walker) structure(n *yaml.Node, path string, t reflect.Type) any {
	fields := w.fieldsOf(t)
	return w.mapping(n, path, func(key string) reflect.Type {
		if ft, ok := fields[key]; ok {
			return ft
		}
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		w.report(w.src.KeyPos(Join(path, key)), Join(path, key), "unknown field %q%s", key, diag.Suggest(key, names))
		return nil
	})
}

// mapping walks a YAML mapping; elem gives each key's Go type, nil to drop it.
func (w *walker) mapping(n *yaml.Node, path string, elem func(key string) reflect.Type) any {
	if n.Kind != yaml.MappingNode {
		w.report(w.src.nodePos(n), path, "must be a mapping, got %s", nodeKind(n))
		return nil
	}
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := Join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			w.report(w.src.nodePos(k), path, "keys must be strings, got %s", nodeKind(k))
			continue
		}
		if k.Value == "<<" {
			w.report(w.src.nodePos(k), path, "YAML merge keys (<<) are not supported")
			continue
		}
		if _, dup := out[k.Value]; dup {
			w.report(w.src.nodePos(k), p, "duplicate key %q", k.Value)
			continue
		}
		w.src.keys[p] = k
		t := elem(k.Value)
		if t == nil {
			continue
		}
		out[k.Value] = w.walk(v, p, t)
	}
	return out
}

func (w *walker) sequence(n *yaml.Node, path string, elem reflect.Type) any {
	if elem.Kind() == reflect.Uint8 { // []byte is a base64 string in JSON
		return w.scalar(n, path, reflect.String)
	}
	if n.Kind != yaml.SequenceNode {
		w.report(w.src.nodePos(n), path, "must be a list, got %s", nodeKind(n))
		return nil
	}
	out := make([]any, 0, len(n.Content))
	for i, c := range n.Content {
		out = append(out, w.walk(c, Index(path, i), elem))
	}
	return out
}

func (w *walker) scalar(n *yaml.Node, path string, k reflect.Kind) any {
	if n.Kind != yaml.ScalarNode {
		w.report(w.src.nodePos(n), path, "must be %s, got %s", kindName(k), nodeKind(n))
		return nil
	}
	switch k {
	case reflect.String:
		return n.Value // a number or bool where text is wanted keeps its source text
	case reflect.Bool:
		if n.Tag == "!!bool" {
			b, _ := strconv.ParseBool(strings.ToLower(n.Value))
			return b
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Tag == "!!int" {
			if i, err := strconv.ParseInt(n.Value, 0, 32); err == nil {
				return i
			}
			w.report(w.src.nodePos(n), path, "integer %s is out of range", n.Value)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		if v, ok := w.number(n); ok {
			return v
		}
	}
	w.report(w.src.nodePos(n), path, "must be %s, got %s", kindName(k), nodeKind(n))
	return nil
}

func (w *walker) number(n *yaml.Node) (float64, bool) {
	if n.Tag != "!!int" && n.Tag != "!!float" {
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// free converts an untyped subtree (args, defaults, outputs), recording the
// position of every nested value.
func (w *walker) free(n *yaml.Node, path string) any {
	switch n.Kind {
	case yaml.MappingNode:
		return w.mapping(n, path, func(string) reflect.Type { return anyType })
	case yaml.SequenceNode:
		return w.sequence(n, path, anyType)
	case yaml.AliasNode:
		w.report(w.src.nodePos(n), path, "unresolved alias")
		return nil
	}
	switch n.Tag {
	case "!!bool":
		return w.scalar(n, path, reflect.Bool)
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
		w.report(w.src.nodePos(n), path, "integer %s is out of range", n.Value)
		return nil
	case "!!float":
		if v, ok := w.number(n); ok {
			return v
		}
		w.report(w.src.nodePos(n), path, "number %s cannot be represented in JSON", n.Value)
		return nil
	}
	return n.Value
}

var anyType = reflect.TypeFor[any]()

// fieldsOf maps JSON field names to types, flattening inline structs.
func (w *walker) fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := w.fields[t]; ok {
		return f
	}
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case f.Anonymous && slices.Contains(strings.Split(opts, ","), "inline"):
			for k, v := range w.fieldsOf(f.Type) {
				out[k] = v
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	if w.fields == nil {
		w.fields = map[reflect.Type]map[string]reflect.Type{}
	}
	w.fields[t] = out
	return out
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	}
	return k.String()
}
