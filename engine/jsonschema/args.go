package jsonschema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
)

// argsSchema is the schema of the args of a phase calling the function sig
// declares: every declared arg, the required ones required, nothing else.
func argsSchema(sig function.Signature) Schema {
	props := Schema{}
	var required []string
	for _, a := range sig.Args {
		s := valueSchema(a.Type)
		s["description"] = argDoc(a)
		if a.Default != nil {
			s["default"] = celenv.JSON(a.Default)
		}
		props[a.Name] = s
		if a.Required {
			required = append(required, a.Name)
		}
	}
	s := Schema{
		"type":                 "object",
		"description":          fmt.Sprintf("Arguments of %s: %s", sig.Name, sig.Doc),
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func hasRequired(sig function.Signature) bool {
	for _, a := range sig.Args {
		if a.Required {
			return true
		}
	}
	return false
}

// argDoc is an arg's hover text: its doc, type and default.
func argDoc(a function.Arg) string {
	var b strings.Builder
	b.WriteString(a.Doc)
	fmt.Fprintf(&b, " (%s", celenv.TypeString(a.Type))
	switch {
	case a.Required:
		b.WriteString(", required")
	case a.Default != nil:
		raw, _ := json.Marshal(celenv.JSON(a.Default))
		fmt.Fprintf(&b, ", default %s", raw)
	}
	b.WriteString(")")
	return b.String()
}

// valueSchema is the schema of a value of CEL type t as a blueprint writes
// it. A string may always be ${{ expr }}, and so may any item of a list or
// value of a map, so every type other than string and dyn also accepts an
// expression.
func valueSchema(t *cel.Type) Schema {
	base, literal := typeSchema(t)
	switch {
	case !literal:
		return expressionSchema()
	case t.Kind() == cel.StringKind || len(base) == 0:
		return base
	}
	return Schema{"anyOf": []any{base, ref("expression")}}
}

// typeSchema maps a CEL type to the schema of its literal YAML form:
// string→string, int→integer, uint→non-negative integer, double→number,
// bool→boolean, list(T)→array of T, map(K, V)→object of V, dyn and
// objects→any value, duration→a Go duration string ("90s"),
// timestamp→an RFC 3339 string. literal is false for bytes, which the
// compiler accepts only from an expression.
func typeSchema(t *cel.Type) (s Schema, literal bool) {
	switch t.Kind() {
	case cel.StringKind:
		return Schema{"type": "string"}, true
	case cel.IntKind:
		return Schema{"type": "integer"}, true
	case cel.UintKind:
		return Schema{"type": "integer", "minimum": 0}, true
	case cel.DoubleKind:
		return Schema{"type": "number"}, true
	case cel.BoolKind:
		return Schema{"type": "boolean"}, true
	case cel.ListKind:
		return Schema{"type": "array", "items": valueSchema(t.Parameters()[0])}, true
	case cel.MapKind:
		return Schema{"type": "object", "additionalProperties": valueSchema(t.Parameters()[1])}, true
	case cel.DurationKind:
		return Schema{"type": "string", "pattern": `^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$`}, true
	case cel.TimestampKind:
		return Schema{"type": "string", "format": "date-time"}, true
	case cel.BytesKind:
		return nil, false
	}
	return Schema{}, true // dyn, objects, null: any value
}
