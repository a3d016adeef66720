// Package plan holds compiled blueprints: every expression checked and
// planned, every function resolved, every default applied. A plan is
// produced only by engine/compile, is shared by concurrent runs, and must
// not be modified after compile returns it.
package plan

import (
	"time"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Blueprint is a compiled blueprint.
type Blueprint struct {
	Name    string
	File    string
	Params  []Param // sorted by name
	Actions map[string]*Action
	// Objects resolves the CEL object types values are conformed to.
	Objects map[string]celenv.Object
}

// Param is a declared blueprint param.
type Param struct {
	Name        string
	Type        *cel.Type
	Default     any // conformed to Type; meaningful when HasDefault
	HasDefault  bool
	Description string
}

// Action is a compiled action.
type Action struct {
	Name    string
	Timeout time.Duration // zero: no limit
	Phases  []*Phase
	Finally []*Phase
	Outputs *Map // nil when the action declares none
}

// Phase is a compiled phase.
type Phase struct {
	Name    string
	Stage   v1alpha1.PhaseStage
	Func    function.Function
	Args    []Arg           // in signature order; absent args with defaults included
	When    *celenv.Program // nil: always run
	Timeout time.Duration   // per attempt; zero: no limit
	Retry   Retry
}

// Arg is one argument of a phase.
type Arg struct {
	Name  string
	Type  *cel.Type // declared type
	Value Value
}

// Retry is a phase's retry policy.
type Retry struct {
	Attempts int // total tries, at least 1
	Backoff  wait.Backoff
}

// Action returns the named action.
func (b *Blueprint) Action(name string) (*Action, bool) {
	a, ok := b.Actions[name]
	return a, ok
}

// AllPhases lists the main phases, then the finally phases.
func (a *Action) AllPhases() []*Phase {
	out := make([]*Phase, 0, len(a.Phases)+len(a.Finally))
	return append(append(out, a.Phases...), a.Finally...)
}
