// Package decode reads a Blueprint from YAML with positions. It walks the
// yaml.v3 node tree beside the Go API type, so every field keeps its
// file:line:col, unknown fields and wrongly shaped values are reported with
// their position, and what is well formed still decodes, letting the compiler
// report its own errors in the same run.
package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Blueprint decodes one Blueprint document from data, read from file. It
// returns a nil Blueprint only when nothing usable could be read (invalid
// YAML, an empty file, or another kind of document).
func Blueprint(file string, data []byte) (*v1alpha1.Blueprint, *Source, diag.Diagnostics) {
	src := newSource(file, data)
	var ds diag.Diagnostics
	root, err := parseOne(data)
	if err != nil {
		ds.Add(src.yamlErrorPos(err), "", "%s", yamlErrorMsg(err))
		return nil, src, ds
	}
	if root == nil {
		ds.Add(diag.Pos{File: file, Line: 1, Col: 1}, "", "file is empty; expected a %s document", kindBlueprint)
		return nil, src, ds
	}
	if !checkKind(src, root, &ds) {
		return nil, src, ds
	}
	w := walker{src: src, ds: &ds}
	tree := w.walk(root, "", reflect.TypeFor[v1alpha1.Blueprint]())
	if w.nodes > maxNodes {
		return nil, src, ds // what was dropped would only cause follow-on errors
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		ds.Add(src.Pos(""), "", "cannot encode document: %v", err)
		return nil, src, ds
	}
	bp := &v1alpha1.Blueprint{}
	if err := json.Unmarshal(raw, bp); err != nil {
		ds.Add(src.Pos(""), "", "cannot decode document: %v", err)
		return nil, src, ds
	}
	return bp, src, ds
}

const (
	apiVersion    = "snapflow.dev/v1alpha1"
	kindBlueprint = "Blueprint"
)

// parseOne parses exactly one YAML document; nil means the file is empty.
func parseOne(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("yaml: line %d: found a second document; put each blueprint in its own file", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	return root, nil
}

var (
	yamlLine   = regexp.MustCompile(`^yaml: line (\d+): `)
	yamlPrefix = regexp.MustCompile(`^yaml: `)
)

// yamlErrorPos is the line a yaml.v3 error names; errors without a line
// (such as an unexpected end of stream) point at the last line.
func (s *Source) yamlErrorPos(err error) diag.Pos {
	line := len(s.ylines)
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	pos := s.at(line, 1)
	pos.Col = 0
	return pos
}

func yamlErrorMsg(err error) string {
	msg := yamlLine.ReplaceAllString(err.Error(), "")
	if msg == err.Error() {
		msg = yamlPrefix.ReplaceAllString(msg, "")
	}
	return "invalid YAML: " + msg
}

// checkKind accepts only snapflow.dev/v1alpha1 Blueprint documents.
func checkKind(src *Source, root *yaml.Node, ds *diag.Diagnostics) bool {
	if root.Kind != yaml.MappingNode {
		ds.Add(src.nodePos(root), "", "expected a %s document (a mapping), got %s", kindBlueprint, nodeKind(root))
		return false
	}
	got := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		got[root.Content[i].Value] = root.Content[i+1]
	}
	ok := true
	if n := got["kind"]; n == nil {
		ds.Add(src.nodePos(root), "kind", "missing; expected kind: %s", kindBlueprint)
		ok = false
	} else if n.Value != kindBlueprint {
		ds.Add(src.nodePos(n), "kind", "not a Blueprint: got kind %q, expected %q", n.Value, kindBlueprint)
		ok = false
	}
	if n := got["apiVersion"]; n == nil {
		ds.Add(src.nodePos(root), "apiVersion", "missing; expected apiVersion: %s", apiVersion)
		ok = false
	} else if n.Value != apiVersion {
		ds.Add(src.nodePos(n), "apiVersion", "got %q, expected %q", n.Value, apiVersion)
		ok = false
	}
	return ok
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}
