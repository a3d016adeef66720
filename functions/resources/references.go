package resources

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group-kinds the workload scope reads.
var (
	kindConfigMap      = schema.GroupKind{Kind: "ConfigMap"}
	kindSecret         = schema.GroupKind{Kind: "Secret"}
	kindClaim          = schema.GroupKind{Kind: "PersistentVolumeClaim"}
	kindServiceAccount = schema.GroupKind{Kind: "ServiceAccount"}
	kindService        = schema.GroupKind{Kind: "Service"}
	kindRole           = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}
	kindRoleBinding    = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}
	kindNetworkPolicy  = schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}
	kindPDB            = schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}
	kindHPA            = schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}
)

// clusterMade are objects every namespace gets from the cluster itself.
var clusterMade = map[Ref]bool{
	{Kind: "ConfigMap", Name: "kube-root-ca.crt"}: true,
	{Kind: "ServiceAccount", Name: "default"}:     true,
}

// workloadObjects are the workload, what its pod template references,
// the RBAC of its ServiceAccount, and what selects its pods.
func (c Capturer) workloadObjects(ctx context.Context, s Scope) ([]*unstructured.Unstructured, error) {
	w := *s.Workload
	obj, err := c.get(ctx, w.GroupKind(), w.Namespace, w.Name)
	if err != nil {
		return nil, err
	}
	objs := []*unstructured.Unstructured{obj}
	refs := templateRefs(obj)
	for _, r := range refs {
		got, err := c.get(ctx, r.GroupKind(), w.Namespace, r.Name)
		if apierrors.IsNotFound(err) {
			continue // an optional reference
		}
		if err != nil {
			return nil, err
		}
		objs = append(objs, got)
	}
	rbac, err := c.accountRBAC(ctx, w.Namespace, serviceAccountOf(obj))
	if err != nil {
		return nil, err
	}
	selecting, err := c.selecting(ctx, obj)
	if err != nil {
		return nil, err
	}
	claims, err := c.templateClaims(ctx, obj)
	if err != nil {
		return nil, err
	}
	return dropClusterMade(append(append(append(objs, rbac...), selecting...), claims...)), nil
}

func dropClusterMade(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		r := RefOf(o)
		r.Namespace = ""
		if clusterMade[r] || (r.Kind == "Secret" && o.Object["type"] == "kubernetes.io/service-account-token") {
			continue
		}
		out = append(out, o)
	}
	return out
}

// podTemplate is the pod spec and labels of a workload (or a Pod).
func podTemplate(obj *unstructured.Unstructured) (spec map[string]any, podLabels map[string]string) {
	path := []string{"spec", "template"}
	switch obj.GetKind() {
	case "Pod":
		path = nil
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template"}
	}
	tmpl := obj.Object
	if len(path) > 0 {
		tmpl, _, _ = unstructured.NestedMap(obj.Object, path...)
	}
	spec, _, _ = unstructured.NestedMap(tmpl, "spec")
	podLabels, _, _ = unstructured.NestedStringMap(tmpl, "metadata", "labels")
	return spec, podLabels
}

func serviceAccountOf(obj *unstructured.Unstructured) string {
	spec, _ := podTemplate(obj)
	name, _, _ := unstructured.NestedString(spec, "serviceAccountName")
	return name
}

// templateRefs are the ConfigMaps, Secrets, claims and ServiceAccount a
// workload's pod template names.
func templateRefs(obj *unstructured.Unstructured) []Ref {
	spec, _ := podTemplate(obj)
	var refs []Ref
	add := func(gk schema.GroupKind, name any) {
		if n, ok := name.(string); ok && n != "" {
			refs = append(refs, Ref{Group: gk.Group, Kind: gk.Kind, Name: n})
		}
	}
	add(kindServiceAccount, spec["serviceAccountName"])
	for _, v := range items(spec["imagePullSecrets"]) {
		add(kindSecret, v["name"])
	}
	for _, v := range items(spec["volumes"]) {
		add(kindConfigMap, field(v, "configMap", "name"))
		add(kindSecret, field(v, "secret", "secretName"))
		add(kindClaim, field(v, "persistentVolumeClaim", "claimName"))
		for _, p := range items(field(v, "projected", "sources")) {
			add(kindConfigMap, field(p, "configMap", "name"))
			add(kindSecret, field(p, "secret", "name"))
		}
	}
	for _, key := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, ctr := range items(spec[key]) {
			for _, e := range items(ctr["env"]) {
				add(kindConfigMap, field(e, "valueFrom", "configMapKeyRef", "name"))
				add(kindSecret, field(e, "valueFrom", "secretKeyRef", "name"))
			}
			for _, e := range items(ctr["envFrom"]) {
				add(kindConfigMap, field(e, "configMapRef", "name"))
				add(kindSecret, field(e, "secretRef", "name"))
			}
		}
	}
	return refs
}

// templateClaims are the claims a StatefulSet made from its
// volumeClaimTemplates: <template>-<statefulset>-<ordinal>.
func (c Capturer) templateClaims(ctx context.Context, obj *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	tmpls := items(field(obj.Object, "spec", "volumeClaimTemplates"))
	if obj.GetKind() != "StatefulSet" || len(tmpls) == 0 {
		return nil, nil
	}
	var alts []string
	for _, t := range tmpls {
		if n, ok := field(t, "metadata", "name").(string); ok {
			alts = append(alts, regexp.QuoteMeta(n))
		}
	}
	re := regexp.MustCompile(fmt.Sprintf(`^(%s)-%s-[0-9]+$`, strings.Join(alts, "|"), regexp.QuoteMeta(obj.GetName())))
	all, err := c.list(ctx, kindClaim, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i := range all {
		if re.MatchString(all[i].GetName()) {
			out = append(out, &all[i])
		}
	}
	return out, nil
}

// accountRBAC are the RoleBindings in namespace naming account, and the
// Roles they bind.
func (c Capturer) accountRBAC(ctx context.Context, namespace, account string) ([]*unstructured.Unstructured, error) {
	if account == "" {
		return nil, nil
	}
	bindings, err := c.list(ctx, kindRoleBinding, namespace)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i := range bindings {
		b := &bindings[i]
		if !bindsAccount(b, namespace, account) {
			continue
		}
		out = append(out, b)
		if field(b.Object, "roleRef", "kind") != "Role" {
			continue // a ClusterRole is the cluster's, not the app's
		}
		name, _ := field(b.Object, "roleRef", "name").(string)
		role, err := c.get(ctx, kindRole, namespace, name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	return out, nil
}

func bindsAccount(b *unstructured.Unstructured, namespace, account string) bool {
	for _, s := range items(b.Object["subjects"]) {
		ns, _ := s["namespace"].(string)
		if s["kind"] == "ServiceAccount" && s["name"] == account && (ns == "" || ns == namespace) {
			return true
		}
	}
	return false
}

// selecting are the Services, NetworkPolicies and PodDisruptionBudgets
// whose selectors match the workload's pods, and its autoscalers.
func (c Capturer) selecting(ctx context.Context, obj *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	_, podLabels := podTemplate(obj)
	var out []*unstructured.Unstructured
	for _, gk := range []schema.GroupKind{kindService, kindNetworkPolicy, kindPDB, kindHPA} {
		all, err := c.list(ctx, gk, obj.GetNamespace())
		if err != nil {
			return nil, err
		}
		for i := range all {
			if selects(&all[i], obj, podLabels) {
				out = append(out, &all[i])
			}
		}
	}
	return out, nil
}

// selects reports whether o (a Service, NetworkPolicy, PDB or HPA)
// applies to workload w, whose pods carry podLabels.
func selects(o, w *unstructured.Unstructured, podLabels map[string]string) bool {
	switch o.GetKind() {
	case "Service":
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(podLabels))
	case "NetworkPolicy":
		return labelSelectorMatches(field(o.Object, "spec", "podSelector"), podLabels, true)
	case "PodDisruptionBudget":
		return labelSelectorMatches(field(o.Object, "spec", "selector"), podLabels, true)
	case "HorizontalPodAutoscaler":
		return field(o.Object, "spec", "scaleTargetRef", "kind") == w.GetKind() && field(o.Object, "spec", "scaleTargetRef", "name") == w.GetName()
	}
	return false
}

// labelSelectorMatches matches a metav1.LabelSelector given as JSON
// fields; emptyMatches says what an empty selector selects.
func labelSelectorMatches(raw any, podLabels map[string]string, emptyMatches bool) bool {
	m, ok := raw.(map[string]any)
	if !ok {
		return false
	}
	var ls metav1.LabelSelector
	if err := fromUnstructured(m, &ls); err != nil {
		return false
	}
	if len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0 {
		return emptyMatches
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	return err == nil && sel.Matches(labels.Set(podLabels))
}

// items is a JSON list of objects; anything else is none.
func items(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// field is the value at path in a JSON object, or nil.
func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Mounts reports whether workload obj's pods mount claim: a volume of
// its pod template, or a StatefulSet's claim template.
func Mounts(obj *unstructured.Unstructured, claim string) bool {
	for _, r := range templateRefs(obj) {
		if r.Kind == kindClaim.Kind && r.Name == claim {
			return true
		}
	}
	for _, t := range items(field(obj.Object, "spec", "volumeClaimTemplates")) {
		if n, ok := field(t, "metadata", "name").(string); ok && obj.GetKind() == "StatefulSet" &&
			regexp.MustCompile(`^`+regexp.QuoteMeta(n+"-"+obj.GetName()+"-")+`[0-9]+$`).MatchString(claim) {
			return true
		}
	}
	return false
}
