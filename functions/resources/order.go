package resources

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// restoreRank is the order in which kinds are created at restore: what an
// object refers to (its namespace, definition, account, roles, config,
// quota, claims) before the object, workloads before what scales or routes
// to them, and custom resources, which operators act on, last.
var restoreRank = map[schema.GroupKind]int{
	{Kind: "Namespace"}: 0,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: 1,
	{Kind: "ServiceAccount"}:                                         2,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               3,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        3,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        4,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: 4,
	{Kind: "ConfigMap"}:                                     5,
	{Kind: "Secret"}:                                        5,
	{Kind: "LimitRange"}:                                    6,
	{Kind: "ResourceQuota"}:                                 6,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:         7,
	{Kind: "PersistentVolume"}:                              7,
	{Kind: "PersistentVolumeClaim"}:                         8,
	{Kind: "Service"}:                                       9,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:     10,
	{Group: "policy", Kind: "PodDisruptionBudget"}:          11,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:     12,
	{Group: "apps", Kind: "Deployment"}:                     13,
	{Group: "apps", Kind: "StatefulSet"}:                    13,
	{Group: "apps", Kind: "DaemonSet"}:                      13,
	{Group: "apps", Kind: "ReplicaSet"}:                     13,
	{Group: "batch", Kind: "Job"}:                           13,
	{Group: "batch", Kind: "CronJob"}:                       13,
	{Kind: "Pod"}:                                           13,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: 14,
	{Group: "networking.k8s.io", Kind: "Ingress"}:           15,
}

// otherRank is the rank of every kind not in restoreRank.
const otherRank = 16

// Order returns a copy of objs (the same objects) sorted in the order that
// creates them at restore without a missing reference. Objects of one rank
// keep their order; nil entries go last.
func Order(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int {
		return rankOf(a) - rankOf(b)
	})
	return out
}

func rankOf(obj *unstructured.Unstructured) int {
	if obj == nil {
		return otherRank + 1
	}
	if r, ok := restoreRank[RefOf(obj).GroupKind()]; ok {
		return r
	}
	return otherRank
}
