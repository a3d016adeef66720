package functions

import rbacv1 "k8s.io/api/rbac/v1"

// What the built-ins call, as RBAC rules for the ServiceAccount a run acts
// as (the controller impersonates it; see ActionSet spec.serviceAccountName).
// `kubectl snapflow rbac` turns them into a Role and ClusterRoles. Each
// rule says which functions need it; keep them in step with the functions.

// NamespacedRules are granted in the ActionSet's namespace and in each
// namespace whose workloads its runs back up or restore.
var NamespacedRules = []rbacv1.PolicyRule{
	// The controller reads the target (by kind), a controller's pods by its
	// selector, and every claim it mounts; kubeTask and the export and
	// restore movers create their pod, wait on it and delete it; kubeExec
	// and quiesce read the pod for its containers.
	rule("", "pods", "get", "list", "watch", "create", "delete"),
	// kubeExec and quiesce run commands in containers; kubeTask reads its log.
	rule("", "pods/exec", "create"),
	rule("", "pods/log", "get"),
	// snapshot reads the claims and labels them for a group snapshot;
	// cloneReadOnly and restore create claims, wait for them to bind, and
	// delete clones and failed restores.
	rule("", "persistentvolumeclaims", "get", "list", "watch", "create", "patch", "delete"),
	// export and restore read the Location's Secrets and copy the keys the
	// mover needs next to the claim (a pod reads only its own namespace's
	// Secrets); the copy is updated on a retry and deleted after the phase.
	rule("", "secrets", "get", "create", "update", "delete"),
	// The example blueprints' wait phases watch ConfigMaps; grant what else
	// your blueprints wait on in a Role of your own.
	rule("", "configmaps", "get", "list", "watch"),
	rule("apps", "deployments", "get", "list", "watch"),
	rule("apps", "statefulsets", "get", "list", "watch"),
	rule("apps", "daemonsets", "get", "list", "watch"),
	rule("apps", "replicasets", "get", "list", "watch"),
	// scaleWorkload and quiesce (scale mode) scale through the subresource.
	rule("apps", "deployments/scale", "get", "update", "patch"),
	rule("apps", "statefulsets/scale", "get", "update", "patch"),
	// snapshot creates and waits on snapshots; deleteSnapshots and a failed
	// snapshot delete them.
	rule("snapshot.storage.k8s.io", "volumesnapshots", "get", "list", "watch", "create", "delete"),
	rule("groupsnapshot.storage.k8s.io", "volumegroupsnapshots", "get", "list", "watch", "create", "delete"),
	// backupResources reads an application's objects (restoreResources
	// creates them again, or updates them with server-side apply), and
	// stores them in a Secret owned by the ActionSet.
	rule("", "configmaps", "create", "patch", "update"),
	rule("", "secrets", "list", "watch", "patch"),
	rule("", "serviceaccounts", "get", "list", "watch", "create", "patch"),
	rule("", "services", "get", "list", "watch", "create", "patch"),
	rule("apps", "deployments", "create", "patch"),
	rule("apps", "statefulsets", "create", "patch"),
	rule("apps", "daemonsets", "create", "patch"),
	rule("rbac.authorization.k8s.io", "roles", "get", "list", "watch", "create", "patch"),
	rule("rbac.authorization.k8s.io", "rolebindings", "get", "list", "watch", "create", "patch"),
	rule("networking.k8s.io", "networkpolicies", "get", "list", "watch", "create", "patch"),
	rule("policy", "poddisruptionbudgets", "get", "list", "watch", "create", "patch"),
	rule("autoscaling", "horizontalpodautoscalers", "get", "list", "watch", "create", "patch"),
	// The controller reads the ActionSet's Location as the run's account.
	rule("snapflow.dev", "locations", "get"),
}

// ClusterReadRules are the cluster-scoped reads: harmless, and needed by
// every backup.
var ClusterReadRules = []rbacv1.PolicyRule{
	// snapshot reads a claim's volume for its CSI driver.
	rule("", "persistentvolumes", "get"),
	// snapshot, cloneReadOnly and restore read storage classes for their
	// snapflow.dev annotations and binding mode.
	rule("storage.k8s.io", "storageclasses", "get", "list"),
	// snapshot picks a class and reads the content a snapshot is bound to.
	rule("snapshot.storage.k8s.io", "volumesnapshotclasses", "get", "list"),
	rule("snapshot.storage.k8s.io", "volumesnapshotcontents", "get", "list", "watch"),
	rule("groupsnapshot.storage.k8s.io", "volumegroupsnapshotclasses", "get", "list"),
	rule("groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents", "get", "list", "watch"),
	// backupResources captures the workload's Namespace (labels,
	// annotations) when it may read it.
	rule("", "namespaces", "get"),
}

// ClusterWriteRules are the cluster-scoped writes. Whoever holds them can
// restore any storage snapshot whose handle they know and create
// namespaces, so grant them only to trusted namespaces.
var ClusterWriteRules = []rbacv1.PolicyRule{
	// Durable snapshots copy their class with deletionPolicy Retain (create;
	// update when the source class changed). An administrator may create
	// the "-retain" copies instead and leave this out.
	rule("snapshot.storage.k8s.io", "volumesnapshotclasses", "create", "update"),
	rule("groupsnapshot.storage.k8s.io", "volumegroupsnapshotclasses", "create", "update"),
	// restore pre-provisions a content from a retained snapshot handle once
	// its VolumeSnapshot is gone; deleteSnapshots retires a content by
	// setting its deletionPolicy to Delete before deleting it.
	rule("snapshot.storage.k8s.io", "volumesnapshotcontents", "create", "patch", "delete"),
	rule("groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents", "patch", "delete"),
	// restore and restoreResources create the target namespace when it
	// is gone; backupResources reads it for its labels.
	rule("", "namespaces", "get", "create"),
}

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}
