package functions

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/google/cel-go/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/resources"
)

// RestoreResources creates the objects backupResources captured again, in
// an order that works, after mapping namespaces and storage classes and
// applying JSON patches. Objects that exist are skipped, updated or fail
// the phase, as the policy says; never silently overwritten. Workloads
// are created with 0 replicas and scaled to their captured replicas once
// created, unless they mount a claim this call made (which has no data).
func RestoreResources() function.Function {
	return function.Typed[RestoreResourcesArgs, RestoreResourcesOutputs]{Sig: restoreResourcesSignature, Run: runRestoreResources, Rel: releaseMoverObject}
}

var restoreResourcesSignature = function.Signature{
	Name: "restoreResources",
	Doc:  "Creates the objects backupResources captured again, mapped and patched, in an order that works; existing ones are skipped, updated or fail as the policy says.",
	Args: []function.Arg{
		{Name: "bundle", Type: bundleObject.Type(), Required: true, Doc: "what backupResources captured, e.g. ${{ artifacts.resources }}"},
		{Name: "namespace", Type: cel.StringType, Default: "", Doc: "create the captured namespace's objects in this one, e.g. ${{ workload.namespace }}; empty keeps it"},
		{Name: "namespaces", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{}, Doc: "new namespace by captured namespace, for bundles of several"},
		{Name: "storageClasses", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{}, Doc: "new StorageClass by captured one, for claims and claim templates"},
		{Name: "patches", Type: cel.ListType(cel.DynType), Default: []any{},
			Doc: "JSON patches (RFC 6902) by kind, applied after the mappings: {'kind': 'Deployment', 'group': 'apps', 'name': '(optional)', 'patch': [{'op': 'replace', 'path': '/spec/template/spec/containers/0/image', 'value': 'shop:2'}]}; one that matches no object fails"},
		{Name: "policy", Type: cel.StringType, Default: string(resources.PolicySkip),
			Doc: `for an object that exists: "skip" it, "update" it (server-side apply, field manager snapflow), or "fail" the phase naming it`},
		{Name: "scaleUp", Type: cel.BoolType, Default: true, Doc: "scale the workloads this call created (at 0 replicas) to their captured replicas; false leaves them at 0"},
	},
	Outputs: []function.Output{
		{Name: "created", Type: cel.MapType(cel.StringType, cel.ListType(cel.StringType)), Doc: "what was created: namespace/name (or name) by kind"},
		{Name: "skipped", Type: cel.MapType(cel.StringType, cel.ListType(cel.StringType)), Doc: "what existed and was left as it is, by kind"},
		{Name: "updated", Type: cel.MapType(cel.StringType, cel.ListType(cel.StringType)), Doc: "what existed and was updated, by kind"},
		{Name: "scaled", Type: cel.ListType(cel.StringType), Doc: "the workloads scaled back to their captured replicas"},
	},
}

// RestoreResourcesArgs are restoreResources' arguments.
type RestoreResourcesArgs struct {
	Bundle         ResourceBundle    `json:"bundle"`
	Namespace      string            `json:"namespace"`
	Namespaces     map[string]string `json:"namespaces"`
	StorageClasses map[string]string `json:"storageClasses"`
	Patches        []resources.Patch `json:"patches"`
	Policy         resources.Policy  `json:"policy"`
	ScaleUp        bool              `json:"scaleUp"`
}

// RestoreResourcesOutputs are restoreResources' outputs.
type RestoreResourcesOutputs struct {
	Created map[string][]string `json:"created"`
	Skipped map[string][]string `json:"skipped"`
	Updated map[string][]string `json:"updated"`
	Scaled  []string            `json:"scaled"`
}

func runRestoreResources(ctx context.Context, rt *function.Runtime, in RestoreResourcesArgs) (RestoreResourcesOutputs, error) {
	if err := rt.Clients.Check(function.UsesKube | function.UsesDynamic); err != nil {
		return RestoreResourcesOutputs{}, err
	}
	a := resources.Applier{Dynamic: rt.Clients.Dynamic, Mapper: rt.Clients.Mapper, Policy: in.Policy}
	bundle, err := loadBundle(ctx, rt, in.Bundle)
	if err != nil {
		return RestoreResourcesOutputs{}, err
	}
	t := resources.Transforms{Namespaces: maps.Clone(in.Namespaces), StorageClasses: in.StorageClasses, Patches: in.Patches}
	if in.Namespace != "" && in.Bundle.Namespace != "" {
		if t.Namespaces == nil {
			t.Namespaces = map[string]string{}
		}
		t.Namespaces[in.Bundle.Namespace] = in.Namespace
	}
	objs, err := resources.Transform(bundle.Objects, t)
	if err != nil {
		return RestoreResourcesOutputs{}, function.Permanent(err)
	}
	objs = resources.Order(objs)
	if err := a.Check(objs); err != nil {
		return RestoreResourcesOutputs{}, function.Permanent(err)
	}
	applied, err := a.Apply(ctx, objs)
	out := RestoreResourcesOutputs{Created: byKind(applied.Created), Skipped: byKind(applied.Skipped), Updated: byKind(applied.Updated), Scaled: []string{}}
	if err != nil && in.Policy == resources.PolicyFail && apierrors.IsAlreadyExists(err) {
		return out, function.Permanent(err) // a retry meets the same object
	}
	if err != nil {
		return out, err
	}
	if in.ScaleUp {
		scaled, err := a.ScaleUp(ctx, withoutEmptyClaims(objs, applied))
		for _, r := range scaled {
			out.Scaled = append(out.Scaled, r.String())
		}
		if err != nil {
			return out, err
		}
	}
	rt.Message(fmt.Sprintf("created %d objects, skipped %d, updated %d; scaled %d workloads", len(applied.Created), len(applied.Skipped), len(applied.Updated), len(out.Scaled)))
	return out, nil
}

// withoutEmptyClaims are the workloads to scale up: those this call
// created, or an interrupted earlier attempt did (still at 0 with the
// replicas annotation), less those mounting a claim this call created.
func withoutEmptyClaims(objs []*unstructured.Unstructured, applied resources.Applied) []resources.Ref {
	var empty []resources.Ref
	for _, r := range applied.Created {
		if r.Kind == "PersistentVolumeClaim" {
			empty = append(empty, r)
		}
	}
	candidates := append(slices.Clone(applied.Created), applied.Skipped...)
	var out []resources.Ref
	for _, o := range objs {
		ref := resources.RefOf(o)
		if !slices.Contains(candidates, ref) || slices.ContainsFunc(empty, func(c resources.Ref) bool {
			return c.Namespace == o.GetNamespace() && resources.Mounts(o, c.Name)
		}) {
			continue
		}
		out = append(out, ref)
	}
	return out
}

// byKind lists refs as namespace/name by kind.
func byKind(refs []resources.Ref) map[string][]string {
	out := map[string][]string{}
	for _, r := range refs {
		kind := r.Kind
		if r.Group != "" {
			kind += "." + r.Group
		}
		name := r.Name
		if r.Namespace != "" {
			name = r.Namespace + "/" + r.Name
		}
		out[kind] = append(out[kind], name)
	}
	return out
}
