package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
)

// Wait waits until a CEL condition over an object of any kind is true: a
// database operator reporting ready, a job finished, a ConfigMap flag set.
// It watches the object, so it reacts at once and costs nothing while it
// waits; an object that does not exist yet is waited for too.
func Wait() function.Function {
	return function.Typed[WaitArgs, WaitOutputs]{Sig: waitSignature, Run: runWait}
}

var waitSignature = function.Signature{
	Name: "wait",
	Doc:  "Waits until a CEL condition over an object is true, watching the object; fails after a timeout.",
	Args: []function.Arg{
		{Name: "apiVersion", Type: cel.StringType, Required: true, Doc: "API version of the object, e.g. apps/v1 or v1"},
		{Name: "kind", Type: cel.StringType, Required: true, Doc: "kind of the object, e.g. StatefulSet"},
		{Name: "namespace", Type: cel.StringType, Default: "", Doc: "namespace of the object; empty for a cluster-scoped kind"},
		{Name: "name", Type: cel.StringType, Required: true, Doc: "name of the object"},
		{Name: "condition", Type: cel.StringType, Required: true, Doc: "a CEL expression over the variable object (the object as the API returns it) that is true when the wait is over, " +
			`e.g. "object.status.readyReplicas == 3"; a missing field counts as not yet true; ${{ }} interpolates other values into it`},
		{Name: "timeout", Type: cel.DurationType, Default: "5m", Doc: "how long to wait"},
	},
	Outputs: []function.Output{
		{Name: "object", Type: cel.DynType, Doc: "the object when the condition became true"},
		{Name: "waited", Type: cel.DurationType, Doc: "how long the wait lasted"},
	},
}

// WaitArgs are wait's arguments.
type WaitArgs struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Namespace  string          `json:"namespace"`
	Name       string          `json:"name"`
	Condition  string          `json:"condition"`
	Timeout    metav1.Duration `json:"timeout"`
}

// WaitOutputs are wait's outputs.
type WaitOutputs struct {
	Object map[string]any `json:"object"`
	Waited string         `json:"waited"`
}

func runWait(ctx context.Context, rt *function.Runtime, in WaitArgs) (WaitOutputs, error) {
	switch {
	case in.APIVersion == "" || in.Kind == "" || in.Name == "" || in.Condition == "":
		return WaitOutputs{}, function.Permanent(errors.New("apiVersion, kind, name and condition must not be empty"))
	case in.Timeout.Duration <= 0:
		return WaitOutputs{}, function.Permanent(fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	if err := rt.Clients.Check(function.UsesDynamic); err != nil {
		return WaitOutputs{}, err
	}
	cond, err := compileCondition(in.Condition)
	if err != nil {
		return WaitOutputs{}, err
	}
	objects, err := resourceOf(rt.Clients, in)
	if err != nil {
		return WaitOutputs{}, err
	}
	what := in.Kind + " " + in.Name
	if in.Namespace != "" {
		what = in.Kind + " " + in.Namespace + "/" + in.Name
	}
	rt.Message(fmt.Sprintf("waiting for %s: %s", what, in.Condition))
	start := rt.Clock.Now()
	w := waiter{cond: cond}
	lw := namedListWatch(rt.Clients.Dynamic, in.Name,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return objects.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return objects.Watch(ctx, o) })
	err = untilNamed(ctx, in.Timeout.Duration, lw, &unstructured.Unstructured{}, in.Name, w.check(ctx))
	if errors.Is(err, errTimedOut) {
		return WaitOutputs{}, fmt.Errorf("%s did not satisfy %s within %s: %s", what, in.Condition, in.Timeout.Duration, w.lastSeen())
	}
	if err != nil {
		return WaitOutputs{}, fmt.Errorf("wait for %s: %w", what, err)
	}
	waited := rt.Clock.Since(start)
	rt.Message(fmt.Sprintf("%s satisfied %s after %s", what, in.Condition, waited.Round(time.Millisecond)))
	// managedFields can be larger than the rest; nobody reads it in a
	// blueprint, and outputs go into status.
	obj := w.last.DeepCopy()
	unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
	return WaitOutputs{Object: obj.Object, Waited: waited.String()}, nil
}

// resourceOf resolves the kind to its resource and checks the namespace
// against its scope.
func resourceOf(c function.Clients, in WaitArgs) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(in.APIVersion)
	if err != nil {
		return nil, function.Permanent(fmt.Errorf("apiVersion %q: %w", in.APIVersion, err))
	}
	m, err := c.Mapper.RESTMapping(gv.WithKind(in.Kind).GroupKind(), gv.Version)
	if meta.IsNoMatchError(err) {
		return nil, function.Permanent(fmt.Errorf("the cluster has no kind %s in %s", in.Kind, in.APIVersion))
	}
	if err != nil {
		return nil, fmt.Errorf("find the resource of %s %s: %w", in.APIVersion, in.Kind, err)
	}
	namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace
	switch {
	case namespaced && in.Namespace == "":
		return nil, function.Permanent(fmt.Errorf("%s is namespaced: namespace must not be empty", in.Kind))
	case !namespaced && in.Namespace != "":
		return nil, function.Permanent(fmt.Errorf("%s is cluster-scoped: namespace must be empty, got %q", in.Kind, in.Namespace))
	case namespaced:
		return c.Dynamic.Resource(m.Resource).Namespace(in.Namespace), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// waiter evaluates the condition on each version of the object and keeps
// what the timeout message reports.
type waiter struct {
	cond    *celenv.Program
	last    *unstructured.Unstructured // nil while the object does not exist
	seen    bool                       // whether it ever existed
	evalErr error                      // of the last evaluation, if it failed
}

func (w *waiter) check(ctx context.Context) func(runtime.Object) (bool, error) {
	return func(obj runtime.Object) (bool, error) {
		if obj == nil { // deleted: it may come back
			w.last = nil
			return false, nil
		}
		w.last, w.seen = obj.(*unstructured.Unstructured), true
		v, err := w.cond.Eval(ctx, map[string]any{celenv.VarObject: w.last.Object})
		w.evalErr = err
		switch {
		case errors.Is(err, celenv.ErrCostLimit):
			return false, function.Permanent(err)
		case err != nil:
			return false, nil // e.g. no such key: the status is not there yet
		}
		done, ok := v.(bool)
		if !ok {
			return false, function.Permanent(fmt.Errorf("condition %s evaluated to %T, not a bool", w.cond.Source(), v))
		}
		return done, nil
	}
}

// lastSeen says briefly what the object was like when the wait gave up.
func (w *waiter) lastSeen() string {
	switch {
	case !w.seen:
		return "it never existed"
	case w.last == nil:
		return "it was deleted"
	}
	// The status says most about why; objects without one (ConfigMaps)
	// are shown without their metadata.
	label, v := "status", w.last.Object["status"]
	if v == nil {
		rest := maps.Clone(w.last.Object)
		delete(rest, "metadata")
		label, v = "last seen", rest
	}
	b, _ := json.Marshal(v)
	s := fmt.Sprintf("%s %s", label, head(string(b), 300))
	if w.evalErr != nil {
		s += fmt.Sprintf("; condition: %v", w.evalErr)
	}
	return s
}

// compileCondition compiles a wait condition in the blueprint CEL
// environment, so the same libraries and cost limits apply. Any mistake
// is permanent and names the expression.
func compileCondition(expr string) (*celenv.Program, error) {
	env, err := celenv.New(nil)
	if err != nil {
		return nil, err
	}
	scope, err := env.Scope(celenv.Object{Name: celenv.TypePrefix + "WaitParams", Doc: "wait has no params"}, nil)
	if err != nil {
		return nil, err
	}
	ast, issues := scope.Parse(expr)
	if issues != nil {
		return nil, function.Permanent(fmt.Errorf("condition %s: %s", expr, issueText(issues)))
	}
	if v := otherVariable(ast); v != "" {
		return nil, function.Permanent(fmt.Errorf("condition %s: only the variable object is set here, not %s; put other values in with ${{ }}", expr, v))
	}
	prg, issues := scope.Check(ast)
	if issues != nil {
		return nil, function.Permanent(fmt.Errorf("condition %s: %s", expr, issueText(issues)))
	}
	if k := prg.Type().Kind(); k != cel.BoolKind && k != cel.DynKind {
		return nil, function.Permanent(fmt.Errorf("condition %s must evaluate to bool but got %s", expr, celenv.TypeString(prg.Type())))
	}
	return prg, nil
}

func issueText(issues []celenv.Issue) string {
	msgs := make([]string, len(issues))
	for i, is := range issues {
		msgs[i] = fmt.Sprintf("%d:%d: %s", is.Line, is.Col+1, is.Msg)
	}
	return strings.Join(msgs, "; ")
}

// otherVariable returns a blueprint variable other than object that expr
// reads, or "". Only object is bound when a condition is evaluated, so
// reading another would fail at every evaluation until the timeout.
func otherVariable(a *cel.Ast) string {
	unbound := map[string]bool{celenv.VarWorkload: true, celenv.VarParams: true, celenv.VarPhases: true,
		celenv.VarArtifacts: true, celenv.VarLocation: true, celenv.VarAction: true}
	var idents []string
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			idents = append(idents, e.AsIdent())
		case celast.ComprehensionKind:
			// A comprehension variable may shadow a blueprint variable.
			c := e.AsComprehension()
			delete(unbound, c.IterVar())
			delete(unbound, c.IterVar2())
			delete(unbound, c.AccuVar())
		}
	}))
	for _, id := range idents {
		if unbound[id] {
			return id
		}
	}
	return ""
}
