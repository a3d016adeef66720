package functions

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/functions/resources"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// BackupResources captures the Kubernetes objects of an application, so
// a restore brings back the application and not only its volumes. They
// are stored cleaned of what the cluster owns: in the Location's kopia
// repository (encrypted) when given one, else in a Secret owned by the
// ActionSet.
func BackupResources() function.Function {
	return function.Typed[BackupResourcesArgs, BackupResourcesOutputs]{Sig: backupResourcesSignature, Run: runBackupResources, Rel: releaseMoverObject}
}

// The scopes backupResources captures.
const (
	scopeWorkload  = "workload"
	scopeNamespace = "namespace"
)

var backupResourcesSignature = function.Signature{
	Name: "backupResources",
	Doc:  "Captures the Kubernetes objects of the workload's application (or of its whole namespace) into the restore point: in the Location's repository when given one, else in a Secret owned by the ActionSet.",
	Args: []function.Arg{
		{Name: "kind", Type: cel.StringType, Default: "", Doc: "the workload's kind, e.g. Deployment; empty means the ActionSet's target"},
		{Name: "name", Type: cel.StringType, Default: "", Doc: "the workload's name; empty means the ActionSet's target"},
		{Name: "namespace", Type: cel.StringType, Default: "", Doc: "the workload's namespace; empty means the ActionSet's target's"},
		{Name: "scope", Type: cel.StringType, Default: scopeWorkload,
			Doc: `"workload": the workload, the ConfigMaps, Secrets, claims and ServiceAccount its pods use, the Roles and RoleBindings naming that account, and the Services, NetworkPolicies, PodDisruptionBudgets and HorizontalPodAutoscalers that select or scale it; "namespace": every object of the namespace that no controller owns`},
		{Name: "labelSelector", Type: cel.StringType, Default: "", Doc: "keep only objects with these labels, e.g. app=shop,tier!=cache (the workload is always kept)"},
		{Name: "include", Type: cel.ListType(cel.StringType), Default: []any{}, Doc: "keep only these kinds, as Kind or Kind.group, e.g. ['ConfigMap', 'Deployment.apps']; empty keeps every kind"},
		{Name: "exclude", Type: cel.ListType(cel.StringType), Default: []any{}, Doc: "drop these kinds, as Kind or Kind.group"},
		{Name: "location", Type: cel.StringType, Default: "", Doc: "store the objects in this Location's repository, e.g. ${{ location.name }}; empty keeps them in a Secret owned by the ActionSet (at most 1000 KiB compressed)"},
		{Name: "source", Type: cel.StringType, Default: "snapflow", Doc: "with a Location: who exports, as export's source"},
	},
	Outputs: []function.Output{
		{Name: "bundle", Type: bundleObject.Type(), Doc: "where the objects are; give it to export's artifacts as 'resources' and to restoreResources"},
		{Name: "counts", Type: cel.MapType(cel.StringType, cel.IntType), Doc: "how many objects of each kind (Kind or Kind.group) were captured"},
	},
	Objects: []celenv.Object{bundleObject},
}

// BackupResourcesArgs are backupResources' arguments.
type BackupResourcesArgs struct {
	Kind          string   `json:"kind"`
	Name          string   `json:"name"`
	Namespace     string   `json:"namespace"`
	Scope         string   `json:"scope"`
	LabelSelector string   `json:"labelSelector"`
	Include       []string `json:"include"`
	Exclude       []string `json:"exclude"`
	Location      string   `json:"location"`
	Source        string   `json:"source"`
}

// BackupResourcesOutputs are backupResources' outputs.
type BackupResourcesOutputs struct {
	Bundle ResourceBundle `json:"bundle"`
	Counts map[string]int `json:"counts"`
}

func runBackupResources(ctx context.Context, rt *function.Runtime, in BackupResourcesArgs) (BackupResourcesOutputs, error) {
	if err := rt.Clients.Check(function.UsesKube | function.UsesDynamic); err != nil {
		return BackupResourcesOutputs{}, err
	}
	scope, err := captureScope(rt, in)
	if err != nil {
		return BackupResourcesOutputs{}, function.Permanent(err)
	}
	c := resources.Capturer{Dynamic: rt.Clients.Dynamic, Mapper: rt.Clients.Mapper, Discovery: rt.Clients.Kube.Discovery()}
	bundle, err := c.Capture(ctx, scope)
	if err != nil {
		return BackupResourcesOutputs{}, fmt.Errorf("capture the objects of %s: %w", scope.Namespace, err)
	}
	data, err := bundle.Encode()
	if err != nil {
		return BackupResourcesOutputs{}, err
	}
	out := BackupResourcesOutputs{
		Bundle: ResourceBundle{Objects: len(bundle.Objects), Namespace: scope.Namespace},
		Counts: resources.CountByKind(bundle.Refs()),
	}
	if out.Bundle.SnapshotID, err = storeBundle(ctx, rt, in, scope, data); err != nil {
		return BackupResourcesOutputs{}, err
	}
	if in.Location != "" {
		out.Bundle.Location = in.Location
	} else {
		out.Bundle.Secret = rt.Names.Name("resources")
	}
	rt.Message(fmt.Sprintf("captured %d objects of %s (%d bytes compressed)", len(bundle.Objects), scope.Namespace, len(data)))
	return out, nil
}

// storeBundle keeps data in a Secret, or on the Location, returning the
// kopia snapshot there.
func storeBundle(ctx context.Context, rt *function.Runtime, in BackupResourcesArgs, scope resources.Scope, data []byte) (string, error) {
	if in.Location == "" {
		return "", putBundleSecret(ctx, rt, bundleSecret(rt, rt.Names.Name("resources"), data))
	}
	loc, err := locationOf(rt, in.Location)
	if err != nil {
		return "", err
	}
	path := "resources/" + scope.Namespace
	if scope.Workload != nil {
		path += "/" + scope.Workload.Kind + "/" + scope.Workload.Name
	}
	return storeBundleOnLocation(ctx, rt, loc, mover.Source{Host: in.Source, User: scope.Namespace, Path: path}, data)
}

// captureScope is the Scope the args name, defaulting to the target.
func captureScope(rt *function.Runtime, in BackupResourcesArgs) (resources.Scope, error) {
	s := resources.Scope{Namespace: in.Namespace, Skip: snapflowMade}
	if s.Namespace == "" {
		s.Namespace = rt.Target.Namespace
	}
	switch in.Scope {
	case scopeWorkload:
		w := resources.Ref{Kind: in.Kind, Namespace: s.Namespace, Name: in.Name}
		if w.Kind == "" {
			w.Kind = rt.Target.Kind
		}
		if w.Name == "" {
			w.Name = rt.Target.Name
		}
		w.Group = workloadGroup(w.Kind, rt.Target)
		s.Workload = &w
	case scopeNamespace:
	default:
		return s, fmt.Errorf("scope %q is not %q or %q", in.Scope, scopeWorkload, scopeNamespace)
	}
	if s.Namespace == "" {
		return s, errors.New("no namespace: the target is cluster-scoped; give namespace")
	}
	sel, err := labels.Parse(in.LabelSelector)
	if err != nil {
		return s, fmt.Errorf("labelSelector: %w", err)
	}
	s.Selector = sel
	if s.Include, err = groupKinds("include", in.Include); err != nil {
		return s, err
	}
	s.Exclude, err = groupKinds("exclude", in.Exclude)
	return s, err
}

// workloadGroup is the API group of kind: the target's when it is the
// target's kind, else apps for the usual workloads.
func workloadGroup(kind string, target v1alpha1.ObjectReference) string {
	if gv, err := schema.ParseGroupVersion(target.APIVersion); err == nil && target.Kind == kind && gv.Group != "" {
		return gv.Group
	}
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return "apps"
	case "Job", "CronJob":
		return "batch"
	}
	return ""
}

func groupKinds(arg string, names []string) ([]schema.GroupKind, error) {
	var out []schema.GroupKind
	for _, n := range names {
		gk := schema.ParseGroupKind(n)
		if gk.Kind == "" {
			return nil, fmt.Errorf("%s: %q is not Kind or Kind.group", arg, n)
		}
		out = append(out, gk)
	}
	return out, nil
}

// snapflowMade are the objects functions made for a run (mover pods,
// credential copies, clones), which are not the application's; a claim
// restore made is.
func snapflowMade(o *unstructured.Unstructured) bool {
	fn, ok := o.GetLabels()[LabelFunction]
	return ok && !(o.GetKind() == "PersistentVolumeClaim" && fn == "restore")
}
