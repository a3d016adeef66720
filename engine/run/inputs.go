package run

import (
	"errors"
	"fmt"
	"slices"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Inputs are what an action runs over; they become the CEL variables.
type Inputs struct {
	Object    map[string]any // the target as the API returns it
	Workload  celenv.Workload
	Params    map[string]any  // as the ActionSet gives them; see BindParams
	Artifacts map[string]any  // the input restore point
	Location  celenv.Location // CEL's secret-free view of ResolvedLocation
	Action    celenv.Action
	// ResolvedLocation is the ActionSet's Location (spec and Secret
	// references, never values) for the functions that move data; nil when
	// the ActionSet names none.
	ResolvedLocation *v1alpha1.Location
	// Target is the ActionSet's spec.object, its namespace defaulted, which
	// restore points record.
	Target v1alpha1.ObjectReference
}

// BindParams checks the given params against the blueprint's declarations
// and applies defaults. Every problem is reported, not just the first:
// unknown params, missing required ones, and values of the wrong type.
func BindParams(bp *plan.Blueprint, given map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(bp.Params))
	var errs []error
	declared := make([]string, 0, len(bp.Params))
	for _, p := range bp.Params {
		declared = append(declared, p.Name)
		v, ok := given[p.Name]
		switch {
		case ok:
			c, err := celenv.Conform(v, p.Type, bp.Objects)
			if err != nil {
				errs = append(errs, fmt.Errorf("param %q: %w", p.Name, err))
				continue
			}
			out[p.Name] = c
		case p.HasDefault:
			out[p.Name] = p.Default
		default:
			errs = append(errs, fmt.Errorf("param %q (%s) is required: the blueprint gives no default", p.Name, celenv.TypeString(p.Type)))
		}
	}
	for _, name := range sortedKeys(given) {
		if !slices.Contains(declared, name) {
			errs = append(errs, fmt.Errorf("unknown param %q%s", name, diag.Suggest(name, declared)))
		}
	}
	return out, errors.Join(errs...)
}

// vars builds the CEL activation from inputs, bound params and the outputs
// of the phases that ran.
func (in Inputs) vars(params, phases map[string]any) map[string]any {
	artifacts := in.Artifacts
	if artifacts == nil {
		artifacts = map[string]any{}
	}
	object := in.Object
	if object == nil {
		object = map[string]any{}
	}
	return map[string]any{
		celenv.VarObject:    object,
		celenv.VarWorkload:  celenv.Value(in.Workload),
		celenv.VarParams:    params,
		celenv.VarPhases:    phases,
		celenv.VarArtifacts: artifacts,
		celenv.VarLocation:  celenv.Value(in.Location),
		celenv.VarAction:    celenv.Value(in.Action),
	}
}

// Vars is the CEL activation for evaluating expressions outside a run, such
// as `snapflow plan` does: params bound, phases as given.
func (in Inputs) Vars(params, phases map[string]any) map[string]any {
	if phases == nil {
		phases = map[string]any{}
	}
	return in.vars(params, phases)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
