package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/engine/workload"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// targetKinds are the kinds an ActionSet may target, with their API group.
var targetKinds = map[string]string{
	workload.KindDeployment:            "apps",
	workload.KindStatefulSet:           "apps",
	workload.KindDaemonSet:             "apps",
	workload.KindReplicaSet:            "apps",
	workload.KindPod:                   "",
	workload.KindPersistentVolumeClaim: "",
}

// targetGVR maps an ActionSet's object reference to its resource: the kind
// must be a supported one and apiVersion, when given, of the kind's group;
// the mapper resolves the version (preferred when none is given) and the
// resource name.
func targetGVR(mapper meta.RESTMapper, ref v1alpha1.ObjectReference) (schema.GroupVersionResource, error) {
	group, ok := targetKinds[ref.Kind]
	if !ok {
		kinds := make([]string, 0, len(targetKinds))
		for k := range targetKinds {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		return schema.GroupVersionResource{}, fmt.Errorf("unsupported target kind %q; want one of %s", ref.Kind, strings.Join(kinds, ", "))
	}
	var versions []string
	if ref.APIVersion != "" {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return schema.GroupVersionResource{}, fmt.Errorf("target apiVersion %q: %w", ref.APIVersion, err)
		}
		if gv.Group != group {
			return schema.GroupVersionResource{}, fmt.Errorf("target kind %s is in API group %q, not %q", ref.Kind, group, gv.Group)
		}
		versions = []string{gv.Version}
	}
	m, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: ref.Kind}, versions...)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("map target kind %s: %w", ref.Kind, err)
	}
	return m.Resource, nil
}

// target is the resolved target: as the API returns it, and normalized.
type target struct {
	object   map[string]any
	workload celenv.Workload
}

// resolveTarget gets the ActionSet's target and normalizes it, with its
// live pods and claims, through the run's clients: what the run's
// ServiceAccount may not read, the run does not see.
func resolveTarget(ctx context.Context, c function.Clients, as *v1alpha1.ActionSet) (*target, error) {
	ref := targetRef(as)
	gvr, err := targetGVR(c.Mapper, ref)
	if err != nil {
		return nil, function.Permanent(err)
	}
	u, err := c.Dynamic.Resource(gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && as.Spec.Artifacts != nil {
		// A restore may bring back a workload whose namespace is gone.
		return absentTarget(gvr, ref), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get target %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err)
	}
	w, err := workload.FromObject(u.Object)
	if err != nil {
		return nil, function.Permanent(fmt.Errorf("target %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err))
	}
	if err := enrich(ctx, c.Kube, u, &w); err != nil {
		return nil, fmt.Errorf("target %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err)
	}
	return &target{object: u.Object, workload: w}, nil
}

// targetRef is the ActionSet's spec.object with its namespace defaulted
// to the ActionSet's, as restore points record it: two apps of one name
// in two namespaces are two objects.
func targetRef(as *v1alpha1.ActionSet) v1alpha1.ObjectReference {
	ref := as.Spec.Object
	if ref.Namespace == "" {
		ref.Namespace = as.Namespace
	}
	return ref
}

// absentTarget stands for a restore's target that does not exist (yet):
// object has only apiVersion, kind and metadata; workload has no replicas,
// pods or claims.
func absentTarget(gvr schema.GroupVersionResource, ref v1alpha1.ObjectReference) *target {
	obj := map[string]any{
		"apiVersion": schema.GroupVersion{Group: gvr.Group, Version: gvr.Version}.String(),
		"kind":       ref.Kind,
		"metadata":   map[string]any{"name": ref.Name, "namespace": ref.Namespace},
	}
	return &target{object: obj, workload: celenv.Workload{
		Kind: ref.Kind, Name: ref.Name, Namespace: ref.Namespace, Pods: []celenv.Pod{}, PVCs: []celenv.PVC{},
	}}
}

// enrich fills in what only the cluster knows: a controller's pods and the
// details of the claims.
func enrich(ctx context.Context, kube kubernetes.Interface, u *unstructured.Unstructured, w *celenv.Workload) error {
	if w.Kind != workload.KindPod && w.Kind != workload.KindPersistentVolumeClaim {
		sel, found, err := unstructured.NestedFieldCopy(u.Object, "spec", "selector")
		if err != nil || !found {
			return fmt.Errorf("read spec.selector: %w", err)
		}
		ls := &metav1.LabelSelector{}
		if err := runtimeConvert(sel, ls); err != nil {
			return fmt.Errorf("read spec.selector: %w", err)
		}
		selector, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return fmt.Errorf("spec.selector: %w", err)
		}
		if w.Pods, err = pods(ctx, kube, w.Namespace, selector); err != nil {
			return err
		}
	}
	for i := range w.PVCs {
		pvc, err := kube.CoreV1().PersistentVolumeClaims(w.PVCs[i].Namespace).Get(ctx, w.PVCs[i].Name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("get claim %s: %w", w.PVCs[i].Name, err)
		}
		if err == nil { // a claim not created yet keeps what the template says
			w.PVCs[i] = pvcInfo(pvc)
		}
	}
	return nil
}

// pods lists the pods selector matches, running ones first.
func pods(ctx context.Context, kube kubernetes.Interface, ns string, selector labels.Selector) ([]celenv.Pod, error) {
	list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := []celenv.Pod{}
	for _, p := range list.Items {
		pod := celenv.Pod{Name: p.Name, Node: p.Spec.NodeName, Phase: string(p.Status.Phase), Containers: []celenv.Container{}}
		for _, c := range p.Spec.Containers {
			pod.Containers = append(pod.Containers, celenv.Container{Name: c.Name, Image: c.Image})
		}
		out = append(out, pod)
	}
	slices.SortStableFunc(out, func(a, b celenv.Pod) int {
		ar, br := a.Phase == string(corev1.PodRunning), b.Phase == string(corev1.PodRunning)
		switch {
		case ar == br:
			return strings.Compare(a.Name, b.Name)
		case ar:
			return -1
		}
		return 1
	})
	return out, nil
}

// pvcInfo normalizes a live claim: size from status.capacity when bound,
// else the request.
func pvcInfo(pvc *corev1.PersistentVolumeClaim) celenv.PVC {
	out := celenv.PVC{Name: pvc.Name, Namespace: pvc.Namespace, AccessModes: []string{}, VolumeMode: string(corev1.PersistentVolumeFilesystem)}
	if pvc.Spec.StorageClassName != nil {
		out.StorageClass = *pvc.Spec.StorageClassName
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		out.Size = q.String()
	} else if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		out.Size = q.String()
	}
	for _, m := range pvc.Spec.AccessModes {
		out.AccessModes = append(out.AccessModes, string(m))
	}
	if pvc.Spec.VolumeMode != nil {
		out.VolumeMode = string(*pvc.Spec.VolumeMode)
	}
	return out
}

// runtimeConvert converts an unstructured value into a typed object.
func runtimeConvert(v any, into any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want an object, got %T", v)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
}
