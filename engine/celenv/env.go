// Package celenv builds the CEL environment blueprint expressions compile in:
// the pinned libraries, the variables (object, workload, params, phases,
// artifacts, location, action) with their types, and the cost limits that
// apply at compile time (estimated) and at run time (actual).
package celenv

import (
	"fmt"
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// Cost limits. An expression whose estimated worst case exceeds the limit is
// rejected by the compiler; one whose actual cost exceeds it at run time
// fails its phase.
const (
	// PerExpressionCostLimit matches kube-apiserver's budget for one
	// validation expression: ample for list and string work on a workload,
	// far below a runaway nested comprehension.
	PerExpressionCostLimit = 1_000_000
	// EstimatedMaxListSize is the list and map size the estimator assumes for
	// values it cannot see (pods, PVCs, params, outputs). A target with more
	// than 256 pods or volumes should be split across ActionSets.
	EstimatedMaxListSize = 256
	// EstimatedMaxStringSize is the string size the estimator assumes:
	// Kubernetes names are at most 253 characters, and a blueprint that
	// builds strings of a few KiB from them is well within it.
	EstimatedMaxStringSize = 1024
	// interruptCheckFrequency is how many comprehension iterations run
	// between checks for cancellation.
	interruptCheckFrequency = 100
)

// Env is the base environment. Build it once with the object types the
// registered functions declare, then take a Scope per action.
type Env struct {
	cel     *cel.Env
	objects []Object
}

// builtinObjects are the object types of the fixed variables.
func builtinObjects() ([]Object, error) {
	var all []Object
	for _, v := range []any{Workload{}, Location{}, Action{}} {
		objs, err := ObjectsOf(TypePrefix, reflect.TypeOf(v))
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

// libraries are the CEL libraries, pinned by version so that upgrading
// cel-go never changes what a stored blueprint means.
func libraries() []cel.EnvOption {
	return []cel.EnvOption{
		cel.DefaultUTCTimeZone(true),
		cel.OptionalTypes(cel.OptionalTypesVersion(1)),
		ext.Strings(ext.StringsVersion(3)),
		ext.Lists(ext.ListsVersion(3)),
		ext.Sets(ext.SetsVersion(0)),
		ext.Encoders(ext.EncodersVersion(0)),
		ext.Math(ext.MathVersion(1)),
		ext.TwoVarComprehensions(),
		ext.Bindings(),
	}
}

// New builds the base environment. functionObjects are the object types
// used by function outputs; they join the builtin ones.
func New(functionObjects []Object) (*Env, error) {
	builtin, err := builtinObjects()
	if err != nil {
		return nil, fmt.Errorf("derive builtin object types: %w", err)
	}
	objects := append(builtin, functionObjects...)
	base, err := cel.NewEnv(libraries()...)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	if _, err := newProvider(base.CELTypeProvider(), objects); err != nil {
		return nil, err
	}
	return &Env{cel: base, objects: objects}, nil
}

// Objects lists every object type the environment knows, builtin first.
func (e *Env) Objects() []Object { return e.objects }

// Scope adds one action's types: params (an object with the declared
// params) and phases (an object with a field per phase), plus the per-phase
// output objects. Names must not clash with existing objects.
func (e *Env) Scope(params Object, phases []Object) (*Scope, error) {
	objs := make([]Object, 0, len(e.objects)+1+len(phases))
	objs = append(append(append(objs, e.objects...), params), phases...)
	p, err := newProvider(e.cel.CELTypeProvider(), objs)
	if err != nil {
		return nil, err
	}
	phasesType := cel.DynType
	if len(phases) > 0 {
		phasesType = phases[0].Type()
	}
	env, err := e.cel.Extend(
		cel.CustomTypeProvider(p),
		cel.Variable(VarObject, cel.DynType),
		cel.Variable(VarWorkload, cel.ObjectType(TypePrefix+"Workload")),
		cel.Variable(VarParams, params.Type()),
		cel.Variable(VarPhases, phasesType),
		cel.Variable(VarArtifacts, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(VarLocation, cel.ObjectType(TypePrefix+"Location")),
		cel.Variable(VarAction, cel.ObjectType(TypePrefix+"Action")),
	)
	if err != nil {
		return nil, fmt.Errorf("extend CEL environment: %w", err)
	}
	return &Scope{env: env}, nil
}
