// Package diag holds positioned diagnostics: what the decoder and the compiler
// report about a blueprint, each with file:line:col, a field path and a
// message. A list is collected whole, never stopping at the first error.
package diag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a source file. Line and Col are 1-based; zero means
// unknown. A line ends at "\n", "\r\n" or a lone "\r", as in editors (not at
// NEL, LS or PS), and Col counts characters, not bytes, as yaml.v3 and CEL do.
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Severity says whether a diagnostic stops a blueprint from running.
type Severity int

const (
	// Error makes the blueprint invalid.
	Error Severity = iota
	// Warning is reported but does not stop the blueprint.
	Warning
)

// Diagnostic is one finding about a blueprint.
type Diagnostic struct {
	Pos      Pos
	Path     string // field path, e.g. spec.actions.backup.phases[1].args.pvcs
	Severity Severity
	Msg      string
}

// String renders "file:line:col: path: msg", the format editors jump to.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Diagnostics is a list of findings.
type Diagnostics []Diagnostic

// Add appends an error diagnostic.
func (d *Diagnostics) Add(pos Pos, path, format string, args ...any) {
	*d = append(*d, Diagnostic{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Warn appends a warning diagnostic.
func (d *Diagnostics) Warn(pos Pos, path, format string, args ...any) {
	*d = append(*d, Diagnostic{Pos: pos, Path: path, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(d, func(x Diagnostic) bool { return x.Severity == Error })
}

// Sort orders the list by file, line, column, then path and message, and drops
// exact duplicates.
func (d *Diagnostics) Sort() {
	slices.SortStableFunc(*d, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	*d = slices.Compact(*d)
}

// Strings renders every diagnostic, one per element.
func (d Diagnostics) Strings() []string {
	out := make([]string, len(d))
	for i, x := range d {
		out[i] = x.String()
	}
	return out
}

// Err returns the errors as one error, or nil when there are none (never a
// typed nil). Warnings alone give nil.
func (d Diagnostics) Err() error {
	if !d.HasErrors() {
		return nil
	}
	return &ListError{Diagnostics: slices.Clone(d)}
}

// ListError is the error form of Diagnostics; errors.As finds it so callers
// can print every finding.
type ListError struct {
	Diagnostics Diagnostics
}

func (e *ListError) Error() string {
	return strings.Join(e.Diagnostics.Strings(), "\n")
}

// From extracts the diagnostics carried by err, if any.
func From(err error) (Diagnostics, bool) {
	var le *ListError
	if errors.As(err, &le) {
		return le.Diagnostics, true
	}
	return nil, false
}
