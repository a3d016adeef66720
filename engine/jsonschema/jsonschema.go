// Package jsonschema generates the JSON Schema (draft 2020-12) of blueprint
// files, for editors: yaml-language-server, and so VS Code and Neovim, use it
// to complete field names and function names, document them on hover, and
// flag unknown fields, unknown functions and mistyped arguments while the
// author types.
//
// The arguments of each phase are checked against the signature of the
// function the phase calls, from the same registry the compiler uses. The
// schema is a helper for authoring; `snapflow lint` (the compiler) is the
// authority, and the schema never rejects a blueprint the compiler accepts.
package jsonschema

import (
	"github.com/snapflow/snapflow/engine/function"
)

// Draft is the JSON Schema dialect of the generated schema.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a JSON Schema document or subschema, as JSON-ready maps.
type Schema = map[string]any

// Blueprint returns the schema of a snapflow.dev/v1alpha1 Blueprint whose
// phases call the functions in reg.
func Blueprint(reg *function.Registry) Schema {
	defs := Schema{
		"spec":       specSchema(),
		"param":      paramSchema(),
		"action":     actionSchema(),
		"phase":      phaseSchema(reg),
		"retry":      retrySchema(),
		"backoff":    backoffSchema(),
		"duration":   durationSchema(),
		"expression": expressionSchema(),
	}
	for _, name := range reg.Names() {
		f, _ := reg.Lookup(name)
		defs[argsDef(name)] = argsSchema(f.Signature())
	}
	return Schema{
		"$schema":     Draft,
		"title":       "snapflow Blueprint",
		"description": docBlueprint,
		"type":        "object",
		"required":    []string{"apiVersion", "kind", "metadata", "spec"},
		"properties": Schema{
			"apiVersion": Schema{"const": "snapflow.dev/v1alpha1", "description": "The API group and version of snapflow blueprints."},
			"kind":       Schema{"const": "Blueprint", "description": "Always Blueprint."},
			"metadata":   metadataSchema(),
			"spec":       ref("spec"),
			"status":     Schema{"type": "object", "description": "Set by the controller; leave it out of blueprint files."},
		},
		"additionalProperties": false,
		"$defs":                defs,
	}
}

// ref points at a definition in $defs.
func ref(def string) Schema { return Schema{"$ref": "#/$defs/" + def} }

// argsDef names the $defs entry of a function's args.
func argsDef(fn string) string { return "args." + fn }

func metadataSchema() Schema {
	return Schema{
		"type":        "object",
		"description": "Standard Kubernetes object metadata.",
		"required":    []string{"name"},
		"properties": Schema{
			"name":        Schema{"type": "string", "minLength": 1, "description": "Name of the blueprint; ActionSets refer to it by this name."},
			"namespace":   Schema{"type": "string", "description": "Namespace of the blueprint."},
			"labels":      Schema{"type": "object", "additionalProperties": Schema{"type": "string"}},
			"annotations": Schema{"type": "object", "additionalProperties": Schema{"type": "string"}},
		},
	}
}

func specSchema() Schema {
	return Schema{
		"type":        "object",
		"description": docSpec,
		"required":    []string{"actions"},
		"properties": Schema{
			"params": Schema{
				"type":                 "object",
				"description":          docParams,
				"propertyNames":        Schema{"pattern": function.Identifier.String()},
				"additionalProperties": ref("param"),
			},
			"actions": Schema{
				"type":                 "object",
				"description":          docActions,
				"minProperties":        1,
				"additionalProperties": ref("action"),
			},
		},
		"additionalProperties": false,
	}
}

func paramSchema() Schema {
	return Schema{
		"type":        "object",
		"description": docParam,
		"required":    []string{"type"},
		"properties": Schema{
			"type": Schema{
				"type":        "string",
				"description": docParamType,
				"pattern":     celTypePattern,
				"examples":    []string{"string", "int", "bool", "double", "duration", "list(string)", "map(string, string)", "dyn"},
			},
			"default":     Schema{"description": docParamDefault},
			"description": Schema{"type": "string", "description": docParamDescription},
		},
		"additionalProperties": false,
	}
}

// celTypePattern accepts the type names celenv.ParseType reads. Nesting
// inside list() and map() is not regular; the compiler checks it.
const celTypePattern = `^\s*(bool|int|uint|double|string|bytes|duration|timestamp|dyn|list\s*\(.+\)|map\s*\(.+,.+\))\s*$`

func actionSchema() Schema {
	return Schema{
		"type":        "object",
		"description": docAction,
		"required":    []string{"phases"},
		"properties": Schema{
			"description": Schema{"type": "string", "description": docActionDescription},
			"timeout":     withDoc(ref("duration"), docActionTimeout),
			"phases":      Schema{"type": "array", "minItems": 1, "items": ref("phase"), "description": docPhases},
			"finally":     Schema{"type": "array", "items": ref("phase"), "description": docFinally},
			"outputs":     Schema{"type": "object", "description": docOutputs},
		},
		"additionalProperties": false,
	}
}

func phaseSchema(reg *function.Registry) Schema {
	names := reg.Names()
	var byFunc []any
	for _, name := range names {
		f, _ := reg.Lookup(name)
		then := Schema{"properties": Schema{"args": ref(argsDef(name))}}
		if hasRequired(f.Signature()) {
			then["required"] = []string{"args"}
		}
		byFunc = append(byFunc, Schema{
			"if":   Schema{"properties": Schema{"func": Schema{"const": name}}, "required": []string{"func"}},
			"then": then,
		})
	}
	s := Schema{
		"type":        "object",
		"description": docPhase,
		"required":    []string{"name", "func"},
		"properties": Schema{
			"name":    Schema{"type": "string", "pattern": function.Identifier.String(), "description": docPhaseName},
			"func":    Schema{"type": "string", "enum": names, "description": docPhaseFunc},
			"args":    Schema{"type": "object", "description": docPhaseArgs},
			"when":    Schema{"type": []string{"string", "boolean"}, "description": docPhaseWhen},
			"timeout": withDoc(ref("duration"), docPhaseTimeout),
			"retry":   ref("retry"),
		},
		"additionalProperties": false,
	}
	if len(byFunc) > 0 {
		s["allOf"] = byFunc
	}
	return s
}

func retrySchema() Schema {
	return Schema{
		"type":        "object",
		"description": docRetry,
		"required":    []string{"attempts"},
		"properties": Schema{
			"attempts": Schema{"type": "integer", "minimum": 1, "description": docRetryAttempts},
			"backoff":  ref("backoff"),
		},
		"additionalProperties": false,
	}
}

func backoffSchema() Schema {
	return Schema{
		"type":        "object",
		"description": docBackoff,
		"properties": Schema{
			"initial": withDoc(ref("duration"), docBackoffInitial),
			"factor":  Schema{"type": "integer", "minimum": 1, "description": docBackoffFactor},
			"max":     withDoc(ref("duration"), docBackoffMax),
		},
		"additionalProperties": false,
	}
}

// durationPattern matches what time.ParseDuration reads, without a sign:
// the compiler wants positive durations.
const durationPattern = `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

func durationSchema() Schema {
	return Schema{
		"type":        "string",
		"pattern":     durationPattern,
		"description": "A Go duration: a number with a unit (ns, us, ms, s, m, h), e.g. 90s, 10m or 1h30m.",
	}
}

// ExpressionPattern matches a string that is exactly one ${{ expr }}, which
// yields the expression's typed value.
const ExpressionPattern = `^\s*\$\{\{[\s\S]*\}\}\s*$`

func expressionSchema() Schema {
	return Schema{
		"type":        "string",
		"pattern":     ExpressionPattern,
		"description": "A CEL expression as ${{ expr }}; it yields the expression's typed value.",
	}
}

// withDoc adds a description beside a $ref (allowed in draft 2020-12).
func withDoc(s Schema, doc string) Schema {
	s["description"] = doc
	return s
}
