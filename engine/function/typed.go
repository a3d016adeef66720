package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/snapflow/snapflow/engine/celenv"
)

// Typed adapts a function written against typed args A and outputs O (JSON
// field names matching the Signature) to Function. Args are converted
// strictly: an unknown or mistyped field is an error.
type Typed[A, O any] struct {
	Sig Signature
	Run func(ctx context.Context, rt *Runtime, args A) (O, error)
	// Rel releases what Run registered with rt.Cleanup; nil if it registers
	// nothing.
	Rel func(ctx context.Context, rt *Runtime, key string) error
}

var _ Function = Typed[struct{}, struct{}]{}

// Signature implements Function.
func (t Typed[A, O]) Signature() Signature { return t.Sig }

// Invoke implements Function.
func (t Typed[A, O]) Invoke(ctx context.Context, rt *Runtime, args map[string]any) (map[string]any, error) {
	var in A
	if err := decodeStrict(args, &in); err != nil {
		return nil, fmt.Errorf("%s: decode args: %w", t.Sig.Name, err)
	}
	out, err := t.Run(ctx, rt, in)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode outputs: %w", t.Sig.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep ints ints; the engine conforms them to the declared types
	outputs := map[string]any{}
	if err := dec.Decode(&outputs); err != nil {
		return nil, fmt.Errorf("%s: outputs must encode as a JSON object: %w", t.Sig.Name, err)
	}
	return outputs, nil
}

// Release implements Function.
func (t Typed[A, O]) Release(ctx context.Context, rt *Runtime, key string) error {
	if t.Rel == nil {
		return fmt.Errorf("%s registered cleanup %q but has no Release", t.Sig.Name, key)
	}
	return t.Rel(ctx, rt, key)
}

// decodeStrict decodes args into a struct. Durations and timestamps travel
// as text ("90s", RFC 3339), so args structs use metav1.Duration and
// metav1.Time for them.
func decodeStrict(args map[string]any, into any) error {
	raw, err := json.Marshal(celenv.JSON(args))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// checkFields verifies that the JSON fields of the Go struct t are exactly
// the names declared, so a signature and its struct cannot drift apart.
func checkFields(what string, t reflect.Type, declared []string) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s type %s must be a struct", what, t)
	}
	typeName := t.Name()
	if typeName == "" {
		typeName = t.String() // an anonymous struct
	}
	fields := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			return fmt.Errorf("%s field %s.%s needs a json tag", what, typeName, f.Name)
		}
		fields[name] = true
	}
	for _, d := range declared {
		if !fields[d] {
			return fmt.Errorf("%s %q is declared but %s has no field with json:%q", what, d, typeName, d)
		}
		delete(fields, d)
	}
	for f := range fields {
		return fmt.Errorf("%s struct %s has field %q that the signature does not declare", what, typeName, f)
	}
	return nil
}

// check implements the registry's consistency check for typed functions.
func (t Typed[A, O]) check() error {
	if err := checkFields("arg", reflect.TypeFor[A](), t.Sig.ArgNames()); err != nil {
		return err
	}
	outs := make([]string, len(t.Sig.Outputs))
	for i, o := range t.Sig.Outputs {
		outs[i] = o.Name
	}
	return checkFields("output", reflect.TypeFor[O](), outs)
}

// objectsByName indexes object types for Conform.
func objectsByName(objs []celenv.Object) map[string]celenv.Object {
	m := make(map[string]celenv.Object, len(objs))
	for _, o := range objs {
		m[o.Name] = o
	}
	return m
}
