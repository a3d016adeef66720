package function

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/snapflow/snapflow/engine/celenv"
)

// Registry is an immutable set of functions by name. Build it once and pass
// it to both the compiler and the executor.
type Registry struct {
	funcs   map[string]Function
	names   []string
	objects []celenv.Object
}

// Identifier is what function, arg, output, phase and param names must
// match, so CEL can select them (phases.snap.snapshots).
var Identifier = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// NewRegistry checks and registers fns: names are unique identifiers, every
// function, arg and output is documented, defaults conform to their types,
// and typed functions' structs match their signatures.
func NewRegistry(fns ...Function) (*Registry, error) {
	r := &Registry{funcs: map[string]Function{}}
	var errs []error
	seenObj := map[string]string{}
	for _, f := range fns {
		sig := f.Signature()
		if _, dup := r.funcs[sig.Name]; dup {
			errs = append(errs, fmt.Errorf("function %q registered twice", sig.Name))
			continue
		}
		if err := checkSignature(sig); err != nil {
			errs = append(errs, fmt.Errorf("function %q: %w", sig.Name, err))
			continue
		}
		if c, ok := f.(interface{ check() error }); ok {
			if err := c.check(); err != nil {
				errs = append(errs, fmt.Errorf("function %q: %w", sig.Name, err))
				continue
			}
		}
		for _, o := range sig.Objects {
			if owner, dup := seenObj[o.Name]; dup {
				errs = append(errs, fmt.Errorf("function %q: object type %s is already declared by %q", sig.Name, o.Name, owner))
				continue
			}
			seenObj[o.Name] = sig.Name
			r.objects = append(r.objects, o)
		}
		r.funcs[sig.Name] = f
		r.names = append(r.names, sig.Name)
	}
	slices.Sort(r.names)
	return r, errors.Join(errs...)
}

func checkSignature(sig Signature) error {
	var errs []error
	if !Identifier.MatchString(sig.Name) {
		errs = append(errs, fmt.Errorf("name must match %s", Identifier))
	}
	if sig.Doc == "" {
		errs = append(errs, errors.New("missing doc"))
	}
	objs := objectsByName(sig.Objects)
	seen := map[string]bool{}
	for _, a := range sig.Args {
		switch {
		case !Identifier.MatchString(a.Name) || seen[a.Name]:
			errs = append(errs, fmt.Errorf("arg %q: name must be a unique identifier", a.Name))
		case a.Type == nil:
			errs = append(errs, fmt.Errorf("arg %q: missing type", a.Name))
		case a.Doc == "":
			errs = append(errs, fmt.Errorf("arg %q: missing doc", a.Name))
		case a.Required && a.Default != nil:
			errs = append(errs, fmt.Errorf("arg %q: a required arg cannot have a default", a.Name))
		case a.Default != nil:
			if _, err := celenv.Conform(a.Default, a.Type, objs); err != nil {
				errs = append(errs, fmt.Errorf("arg %q: default: %w", a.Name, err))
			}
		}
		seen[a.Name] = true
	}
	seen = map[string]bool{}
	for _, o := range sig.Outputs {
		switch {
		case !Identifier.MatchString(o.Name) || seen[o.Name]:
			errs = append(errs, fmt.Errorf("output %q: name must be a unique identifier", o.Name))
		case o.Type == nil:
			errs = append(errs, fmt.Errorf("output %q: missing type", o.Name))
		case o.Doc == "":
			errs = append(errs, fmt.Errorf("output %q: missing doc", o.Name))
		}
		seen[o.Name] = true
	}
	return errors.Join(errs...)
}

// Lookup returns the named function.
func (r *Registry) Lookup(name string) (Function, bool) {
	f, ok := r.funcs[name]
	return f, ok
}

// Names lists the registered function names, sorted.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Objects lists the CEL object types the functions declare.
func (r *Registry) Objects() []celenv.Object { return slices.Clone(r.objects) }
