// Package processnode is the kubelet stand-in of the local test cluster: it
// registers a Node and runs the pods kube-scheduler places on it as host
// processes, so that exec, logs and mover Pods are real without Docker.
//
// It is written directly against client-go (virtual-kubelet v1.11.0 needs
// k8s.io/apiserver/pkg/util/wsstream, which v0.37 no longer has): a pod
// informer filtered by spec.nodeName, one worker goroutine per pod UID,
// status through the pods/status subresource, a Lease in kube-node-lease
// renewed every 10s, and a TLS kubelet API (logs, exec over SPDY).
//
// # Containers
//
// Each container is `SelfExe container-init ...` (see ContainerInitArgs)
// started in its own mount namespace (CLONE_NEWNS) and process group.
// ContainerInit makes / a recursive slave, bind-mounts the pod's volumes at
// their mount paths and execs the container's command. Consequences:
//
//   - The image is ignored. command must be set (args optional, with
//     Kubernetes $(VAR) expansion); its binary must exist on the host. A
//     container without command fails with "image entrypoints are not
//     supported: set command".
//   - The container sees the host's filesystem plus its volumes. Missing
//     mount points are created first, so the host gets empty directories
//     (or files) at every mount path, e.g. /var/run/secrets/kubernetes.io/
//     serviceaccount. Processes run as root, share the host's network (pod
//     IP is 127.0.0.1) and PID namespace; no cgroups, limits, probes,
//     lifecycle hooks, termination-message files, sidecar init containers,
//     attach or port-forward.
//   - Environment: KUBERNETES_SERVICE_HOST/PORT point at the apiserver
//     (there is no kube-proxy); PATH defaults to the node's PATH; env,
//     envFrom and valueFrom (secretKeyRef, configMapKeyRef, fieldRef,
//     resourceFieldRef) follow Kubernetes precedence.
//   - stdout and stderr go to StateDir/pods/<uid>/logs/<container>.log; on
//     restart the old log becomes <container>.previous.log.
//   - restartPolicy and exit codes drive containerStatuses and the pod phase
//     as on a kubelet (CrashLoopBackOff between restarts, at most 20s).
//     Init containers run in order before the containers.
//
// # Volumes
//
// emptyDir, hostPath, secret, configMap, downwardAPI, projected (secret,
// configMap, downwardAPI, serviceAccountToken) and CSI persistent volumes
// (persistentVolumeClaim and generic ephemeral). For a PVC the pod waits,
// Pending with a message, until the claim is Bound; the bound PV's CSI
// source is staged once per node and published per pod into
// StateDir/pods/<uid>/volumes/<name> through the driver's node service,
// read-only when the pod's claim, the PV source or ReadOnlyMany-only
// access modes say so. Volumes are unpublished when the pod ends or is
// deleted. Attach (ControllerPublish) is not done: the CSIDriver object
// must say attachRequired: false.
//
// Unless automountServiceAccountToken is false, or the pod mounts something
// there itself, every container gets a service-account token (a
// TokenRequest, bound to the pod when the pod names its ServiceAccount;
// without the ServiceAccount admission plugin serviceAccountName may be
// empty and the token of "default" is then only time-bound), ca.crt
// (Config.CAFile) and namespace at
// /var/run/secrets/kubernetes.io/serviceaccount, refreshed at 80% of its
// lifetime, so in-cluster client-go works. The ServiceAccount must exist
// (kube-controller-manager's serviceaccount-controller creates "default").
//
// # Deletion and shutdown
//
// A pod with a deletionTimestamp gets SIGTERM on every process group, then
// SIGKILL after its grace period; then its volumes are unpublished, its
// state dir removed (never while something is mounted below it) and the
// object deleted with grace period 0. When Run's context ends, every
// container it started is stopped the same way (grace capped at 10s),
// volumes are unpublished and the Node is marked NotReady.
//
// # Kubelet API
//
// Served with TLS on Config.ListenAddr without client authentication (test
// use only): GET /containerLogs (follow, previous, tailLines, limitBytes),
// /exec over SPDY (v4/v3/v2 remote-command protocols; stdin, stdout,
// stderr, tty) run with nsenter --mount into the container, GET /pods and
// GET /healthz.
package processnode
