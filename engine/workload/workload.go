// Package workload normalizes a Kubernetes object, as the API returns it,
// into the celenv.Workload that blueprint expressions read as `workload`.
//
// FromObject works offline, from the object alone: it knows the kind, name,
// namespace and desired replicas, the containers of a bare Pod, and the
// persistent volume claims the pod template names. What only the cluster
// knows is left for the controller to fill in: the live pods of a
// controller (Deployment, StatefulSet, ...) and the storage class, size and
// access modes of claims referenced by name.
package workload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/snapflow/snapflow/engine/celenv"
)

// Kinds of target FromObject supports.
const (
	KindPod                   = "Pod"
	KindDeployment            = "Deployment"
	KindDeploymentConfig      = "DeploymentConfig"
	KindStatefulSet           = "StatefulSet"
	KindReplicaSet            = "ReplicaSet"
	KindDaemonSet             = "DaemonSet"
	KindJob                   = "Job"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
)

// DefaultNamespace is the namespace of an object whose metadata names none,
// as kubectl assumes.
const DefaultNamespace = "default"

// defaultVolumeMode is what the API server sets when a claim names none.
const defaultVolumeMode = "Filesystem"

// Kinds lists the supported kinds, sorted.
func Kinds() []string {
	return []string{KindDaemonSet, KindDeployment, KindDeploymentConfig, KindJob,
		KindPersistentVolumeClaim, KindPod, KindReplicaSet, KindStatefulSet}
}

// FromObject normalizes obj, a Kubernetes object decoded from JSON or YAML
// into plain maps, lists and scalars.
//
//   - kind, name and namespace come from the object; the namespace defaults
//     to "default".
//   - replicas is spec.replicas (default 1) for Deployment, DeploymentConfig,
//     StatefulSet and ReplicaSet; spec.parallelism (default 1) for a Job; 1
//     for a Pod; 0 for a DaemonSet (one pod per eligible node, unknown
//     offline) and for a PersistentVolumeClaim.
//   - pods: one entry, with its containers, node and phase, for a Pod; empty
//     for every other kind, since their pods exist only in the cluster.
//   - pvcs: the claims the pod spec's volumes name (without details, which
//     live in the cluster), then for a StatefulSet one claim per
//     volumeClaimTemplate and replica, named <template>-<statefulset>-<ordinal>,
//     with the template's storage class, size, access modes and volume mode.
//     A PersistentVolumeClaim target is its own single claim.
func FromObject(obj map[string]any) (celenv.Workload, error) {
	r := newReader()
	kind := r.str(obj, "kind")
	w := celenv.Workload{
		Kind:      kind,
		Name:      r.str(obj, "metadata", "name"),
		Namespace: r.str(obj, "metadata", "namespace"),
		Pods:      []celenv.Pod{},
		PVCs:      []celenv.PVC{},
	}
	if err := r.err(); err != nil {
		return celenv.Workload{}, err
	}
	switch {
	case kind == "":
		return celenv.Workload{}, fmt.Errorf("object has no kind; want one of %s", strings.Join(Kinds(), ", "))
	case !slices.Contains(Kinds(), kind):
		return celenv.Workload{}, fmt.Errorf("unsupported kind %q; want one of %s", kind, strings.Join(Kinds(), ", "))
	case w.Name == "":
		return celenv.Workload{}, fmt.Errorf("%s has no metadata.name", kind)
	}
	if w.Namespace == "" {
		w.Namespace = DefaultNamespace
	}
	fill(r, obj, &w)
	if err := r.err(); err != nil {
		return celenv.Workload{}, fmt.Errorf("%s %s/%s: %w", kind, w.Namespace, w.Name, err)
	}
	return w, nil
}

// fill sets replicas, pods and claims by kind.
func fill(r *reader, obj map[string]any, w *celenv.Workload) {
	template := []string{"spec", "template", "spec"}
	switch w.Kind {
	case KindPod:
		w.Replicas = 1
		w.Pods = append(w.Pods, celenv.Pod{
			Name:       w.Name,
			Node:       r.str(obj, "spec", "nodeName"),
			Phase:      r.str(obj, "status", "phase"),
			Containers: containers(r.in("spec"), r.object(obj, "spec")),
		})
		w.PVCs = claimVolumes(r.in("spec"), r.object(obj, "spec"), w.Namespace)
		return
	case KindPersistentVolumeClaim:
		w.PVCs = append(w.PVCs, claim(r, obj, w.Name, w.Namespace))
		return
	case KindDaemonSet:
		// One pod per eligible node: unknown offline.
	case KindJob:
		w.Replicas = r.intOr(1, obj, "spec", "parallelism")
	default: // Deployment, DeploymentConfig, StatefulSet, ReplicaSet
		w.Replicas = r.intOr(1, obj, "spec", "replicas")
	}
	w.PVCs = claimVolumes(r.in("spec.template.spec"), r.object(obj, template...), w.Namespace)
	if w.Kind == KindStatefulSet {
		w.PVCs = appendUnique(w.PVCs, templateClaims(r, obj, w)...)
	}
}

// containers lists a pod spec's containers (init containers excluded).
func containers(r *reader, podSpec map[string]any) []celenv.Container {
	out := []celenv.Container{}
	for i, c := range r.objects(podSpec, "containers") {
		name := r.str(c, "name")
		if name == "" {
			r.fail(fmt.Sprintf("containers[%d].name", i), "missing")
		}
		out = append(out, celenv.Container{Name: name, Image: r.str(c, "image")})
	}
	return out
}

// claimVolumes lists the claims a pod spec's volumes name, once each.
func claimVolumes(r *reader, podSpec map[string]any, ns string) []celenv.PVC {
	out := []celenv.PVC{}
	for i, v := range r.objects(podSpec, "volumes") {
		name := r.in(fmt.Sprintf("volumes[%d]", i)).str(v, "persistentVolumeClaim", "claimName")
		if name == "" {
			continue
		}
		out = appendUnique(out, celenv.PVC{Name: name, Namespace: ns, AccessModes: []string{}})
	}
	return out
}

// templateClaims lists a StatefulSet's claims: for each ordinal, one per
// volumeClaimTemplate, named as the StatefulSet controller names them.
func templateClaims(r *reader, obj map[string]any, w *celenv.Workload) []celenv.PVC {
	templates := r.objects(obj, "spec", "volumeClaimTemplates")
	var out []celenv.PVC
	for ord := range w.Replicas {
		for i, t := range templates {
			tr := r.in(fmt.Sprintf("spec.volumeClaimTemplates[%d]", i))
			tname := tr.str(t, "metadata", "name")
			if tname == "" {
				if ord == 0 {
					tr.fail("metadata.name", "missing")
				}
				continue
			}
			name := tname + "-" + w.Name + "-" + strconv.FormatInt(ord, 10)
			out = append(out, claim(tr, t, name, w.Namespace))
		}
	}
	return out
}

// claim reads a PersistentVolumeClaim, or a volumeClaimTemplate, named name.
func claim(r *reader, obj map[string]any, name, ns string) celenv.PVC {
	spec, sr := r.object(obj, "spec"), r.in("spec")
	p := celenv.PVC{
		Name:         name,
		Namespace:    ns,
		StorageClass: sr.str(spec, "storageClassName"),
		Size:         sr.quantity(spec, "resources", "requests", "storage"),
		AccessModes:  sr.strs(spec, "accessModes"),
		VolumeMode:   sr.str(spec, "volumeMode"),
	}
	if p.VolumeMode == "" {
		p.VolumeMode = defaultVolumeMode
	}
	return p
}

// appendUnique appends the claims whose names are not in list yet.
func appendUnique(list []celenv.PVC, pvcs ...celenv.PVC) []celenv.PVC {
	for _, p := range pvcs {
		if !slices.ContainsFunc(list, func(q celenv.PVC) bool { return q.Name == p.Name }) {
			list = append(list, p)
		}
	}
	return list
}
