package plugin

import (
	"fmt"
	"strings"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// workloadType is a kind a backup can target and the names kubectl knows it by.
type workloadType struct {
	apiVersion, kind string
	clusterScoped    bool
	names            []string // singular first, then plural and short names
}

// workloadTypes are the kinds TYPE/NAME can name, as kubectl spells them.
var workloadTypes = []workloadType{
	{apiVersion: "apps/v1", kind: "Deployment", names: []string{"deployment", "deployments", "deploy"}},
	{apiVersion: "apps/v1", kind: "StatefulSet", names: []string{"statefulset", "statefulsets", "sts"}},
	{apiVersion: "apps/v1", kind: "DaemonSet", names: []string{"daemonset", "daemonsets", "ds"}},
	{apiVersion: "apps/v1", kind: "ReplicaSet", names: []string{"replicaset", "replicasets", "rs"}},
	{apiVersion: "batch/v1", kind: "Job", names: []string{"job", "jobs"}},
	{apiVersion: "v1", kind: "Pod", names: []string{"pod", "pods", "po"}},
	{apiVersion: "v1", kind: "PersistentVolumeClaim", names: []string{"persistentvolumeclaim", "persistentvolumeclaims", "pvc"}},
	{apiVersion: "v1", kind: "Namespace", clusterScoped: true, names: []string{"namespace", "namespaces", "ns"}},
	{apiVersion: "apps.openshift.io/v1", kind: "DeploymentConfig", names: []string{"deploymentconfig", "deploymentconfigs", "dc"}},
}

// parseWorkload reads TYPE/NAME, as kubectl does (deploy/app,
// statefulset.apps/db, pvc/data), into an object reference in namespace.
func parseWorkload(arg, namespace string) (v1alpha1.ObjectReference, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok || typ == "" || name == "" || strings.Contains(name, "/") {
		return v1alpha1.ObjectReference{}, fmt.Errorf("want TYPE/NAME, e.g. deployment/my-app, got %q", arg)
	}
	lower := strings.ToLower(typ)
	for _, w := range workloadTypes {
		for _, n := range w.names {
			if lower != n && !matchesGroup(lower, n, w.apiVersion) {
				continue
			}
			ref := v1alpha1.ObjectReference{APIVersion: w.apiVersion, Kind: w.kind, Name: name}
			if !w.clusterScoped {
				ref.Namespace = namespace
			}
			return ref, nil
		}
	}
	return v1alpha1.ObjectReference{}, fmt.Errorf("unknown resource type %q in %q; use one of %s", typ, arg, knownTypes())
}

// matchesGroup tells whether typ is name.group, e.g. deployments.apps.
func matchesGroup(typ, name, apiVersion string) bool {
	group, _, ok := strings.Cut(apiVersion, "/")
	return ok && typ == name+"."+group
}

// knownTypes lists the types as "deployment (deploy), statefulset (sts), ...".
func knownTypes() string {
	parts := make([]string, len(workloadTypes))
	for i, w := range workloadTypes {
		parts[i] = w.names[0]
		if short := w.names[len(w.names)-1]; short != w.names[1] {
			parts[i] += " (" + short + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// parseActionSetRef reads actionset/NAME (or as/NAME, or a bare NAME).
func parseActionSetRef(arg string) (string, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok {
		typ, name = "actionset", arg
	}
	switch strings.ToLower(typ) {
	case "actionset", "actionsets", "as", "actionset.snapflow.dev", "actionsets.snapflow.dev":
	default:
		return "", fmt.Errorf("want actionset/NAME, got %q", arg)
	}
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("want actionset/NAME, got %q", arg)
	}
	return name, nil
}
