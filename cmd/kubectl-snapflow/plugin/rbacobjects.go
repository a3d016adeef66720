package plugin

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/functions"
)

// The ClusterRoles that hold the built-ins' rules (functions.NamespacedRules,
// ClusterReadRules, ClusterWriteRules). The namespaced one is bound per
// namespace with RoleBindings, the usual way to grant one set of rules in
// several namespaces.
const (
	RunnerRole             = "snapflow-runner"
	RunnerClusterReadRole  = "snapflow-runner-cluster-read"
	RunnerClusterWriteRole = "snapflow-runner-cluster-write"
)

// RunnerAccess says what a namespace's runs may do.
type RunnerAccess struct {
	// Namespace holds the ActionSets and the ServiceAccount they act as.
	Namespace      string
	ServiceAccount string
	// TargetNamespaces are other namespaces whose workloads the runs may
	// back up and restore.
	TargetNamespaces []string
	// AnyTargetNamespace grants the namespaced rules in every namespace,
	// including ones a restore creates.
	AnyTargetNamespace bool
	// ClusterWrites grants the cluster-scoped writes: durable snapshot
	// classes, restores from snapshot handles, new namespaces.
	ClusterWrites bool
}

// RunnerRBAC is the ServiceAccount, roles and bindings that let the runs of
// a.Namespace do what a asks, and no more.
func RunnerRBAC(a RunnerAccess) []client.Object {
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: a.Namespace, Name: a.ServiceAccount}}
	binding := "snapflow:" + a.Namespace + ":" + a.ServiceAccount
	objs := []client.Object{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(a.Namespace, a.ServiceAccount)},
		clusterRole(RunnerRole, functions.NamespacedRules),
		clusterRole(RunnerClusterReadRole, functions.ClusterReadRules),
		clusterRoleBinding(binding+":cluster-read", RunnerClusterReadRole, subject),
	}
	if a.AnyTargetNamespace {
		objs = append(objs, clusterRoleBinding(binding, RunnerRole, subject))
	} else {
		for _, ns := range append([]string{a.Namespace}, a.TargetNamespaces...) {
			objs = append(objs, &rbacv1.RoleBinding{
				TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: meta(ns, binding),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RunnerRole},
				Subjects: subject,
			})
		}
	}
	if a.ClusterWrites {
		objs = append(objs, clusterRole(RunnerClusterWriteRole, functions.ClusterWriteRules),
			clusterRoleBinding(binding+":cluster-write", RunnerClusterWriteRole, subject))
	}
	return objs
}

func clusterRole(name string, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta("", name), Rules: rules}
}

func clusterRoleBinding(name, role string, subjects []rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta("", name),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: subjects,
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-snapflow"}}
}
