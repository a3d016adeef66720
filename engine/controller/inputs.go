package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// resolveLocation reads the ActionSet's Location once per run, as the
// run's ServiceAccount: where the data goes and which Secrets hold the
// credentials, never their values. Functions get it on their Runtime; CEL
// gets locationVar of it.
func (r *Reconciler) resolveLocation(ctx context.Context, c function.Clients, as *v1alpha1.ActionSet) (*v1alpha1.Location, error) {
	if as.Spec.Location == nil {
		return nil, nil
	}
	u, err := c.Dynamic.Resource(v1alpha1.SchemeGroupVersion.WithResource("locations")).Namespace(as.Namespace).
		Get(ctx, as.Spec.Location.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get location %q: %w", as.Spec.Location.Name, err)
	}
	loc := &v1alpha1.Location{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, loc); err != nil {
		return nil, function.Permanent(fmt.Errorf("location %q: %w", as.Spec.Location.Name, err))
	}
	if err := r.locations.Check(loc); err != nil {
		return nil, function.Permanent(fmt.Errorf("location %q: %w", loc.Name, err))
	}
	return loc, nil
}

// locationVar is the location CEL variable of a Location; secret
// references are left out.
func locationVar(loc *v1alpha1.Location) celenv.Location {
	if loc == nil {
		return celenv.Location{}
	}
	s := loc.Spec
	return celenv.Location{Name: loc.Name, Type: string(s.Type), Endpoint: s.Endpoint, Container: s.Container,
		Bucket: s.Bucket, Path: s.Path, Prefix: s.Prefix, Region: s.Region}
}

// actionSetGetter gets an ActionSet of a namespace by name.
type actionSetGetter func(ctx context.Context, name string) (*v1alpha1.ActionSet, error)

// resolveArtifacts is the input restore point: inline, or the artifacts of
// a Succeeded ActionSet.
func resolveArtifacts(ctx context.Context, src *v1alpha1.ArtifactsSource, get actionSetGetter) (map[string]any, error) {
	switch {
	case src == nil:
		return nil, nil
	case src.Inline != nil && src.FromActionSet != "":
		return nil, fmt.Errorf("artifacts: set one of inline or fromActionSet, not both")
	case src.Inline != nil:
		out, err := decodeJSONMap(src.Inline)
		if err != nil {
			return nil, fmt.Errorf("artifacts.inline: %w", err)
		}
		return out, nil
	case src.FromActionSet == "":
		return nil, fmt.Errorf("artifacts: set one of inline or fromActionSet")
	}
	from, err := get(ctx, src.FromActionSet)
	if err != nil {
		return nil, fmt.Errorf("artifacts.fromActionSet: get ActionSet %q: %w", src.FromActionSet, err)
	}
	if from.Status.State != v1alpha1.ActionSetSucceeded {
		state := from.Status.State
		if state == "" {
			state = v1alpha1.ActionSetPending
		}
		return nil, fmt.Errorf("artifacts.fromActionSet: ActionSet %q is %s, not Succeeded: only a succeeded action has a restore point", src.FromActionSet, state)
	}
	out, err := decodeJSONMap(from.Status.Artifacts)
	if err != nil {
		return nil, fmt.Errorf("artifacts.fromActionSet: ActionSet %q: %w", src.FromActionSet, err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// runParams are the params a run binds: for a run that is resuming, those
// frozen in its status when it started; otherwise spec.params.
func runParams(as *v1alpha1.ActionSet) map[string]apiextensionsv1.JSON {
	if as.Status.BlueprintSpec != nil && resumeState(as.Status) != nil { // frozen together
		return as.Status.Params
	}
	return as.Spec.Params
}

// decodeParams decodes the ActionSet's params, keeping numbers exact so
// that 3 binds to an int param.
func decodeParams(m map[string]apiextensionsv1.JSON) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		d := json.NewDecoder(bytes.NewReader(v.Raw))
		d.UseNumber()
		var x any
		if err := d.Decode(&x); err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

// decodeJSONMap decodes a map of JSON values into plain values.
func decodeJSONMap(m map[string]apiextensionsv1.JSON) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		var x any
		if err := json.Unmarshal(v.Raw, &x); err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

// getActionSet reads an ActionSet in ns from the API server.
func (r *Reconciler) getActionSet(ns string) actionSetGetter {
	return func(ctx context.Context, name string) (*v1alpha1.ActionSet, error) {
		as := &v1alpha1.ActionSet{}
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, as); err != nil {
			return nil, err
		}
		return as, nil
	}
}
