package cluster

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Names of what the local cluster provides.
const (
	NodeName      = "snapflow-node"
	CSIDriverName = "csi.snapflow.dev"
	StorageClass  = "snapflow-csi"
	// StorageClassWFFC is the same driver with WaitForFirstConsumer
	// binding, as most clouds' default classes are (AKS managed-csi, EBS
	// gp3): a claim binds only once a pod that uses it is scheduled.
	StorageClassWFFC = "snapflow-csi-wffc"
	SnapshotClass    = "snapflow-csi"
	// serviceIP is the first address of the service range: the kubernetes
	// service, which the apiserver certificate must also name.
	serviceIP    = "10.0.0.1"
	serviceRange = "10.0.0.0/24"
)

// Component names, in start order; they are stopped in reverse.
const (
	compEtcd               = "etcd"
	compAzurite            = "azurite"
	compAPIServer          = "kube-apiserver"
	compControllerManager  = "kube-controller-manager"
	compScheduler          = "kube-scheduler"
	compCSIDriver          = "csi-driver"
	compProvisioner        = "csi-provisioner"
	compSnapshotController = "snapshot-controller"
	compSnapshotter        = "csi-snapshotter"
	compNode               = "node"
)

var startOrder = []string{
	compEtcd, compAzurite, compAPIServer, compControllerManager, compScheduler,
	compCSIDriver, compProvisioner, compSnapshotController, compSnapshotter, compNode,
}

func startIndex(name string) int {
	if i := slices.Index(startOrder, name); i >= 0 {
		return i
	}
	return len(startOrder)
}

// controllers are the kube-controller-manager controllers the cluster
// needs: PV binding (without it a PVC never binds), namespace deletion,
// service accounts, garbage collection and the workload controllers. Node
// lifecycle is left out so a slow heartbeat never evicts test pods, and
// attach/detach because the test driver needs no attachment.
var controllers = []string{
	"namespace-controller", "serviceaccount-controller", "garbage-collector-controller",
	"persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
	"persistentvolume-protection-controller", "persistentvolume-expander-controller",
	"deployment-controller", "replicaset-controller", "statefulset-controller",
	"daemonset-controller", "job-controller", "cronjob-controller",
	"root-ca-certificate-publisher-controller", "pod-garbage-collector-controller",
	"endpoints-controller", "endpointslice-controller", "ttl-after-finished-controller",
	"clusterrole-aggregation-controller",
}

// ports are the TCP ports the components listen on, all on 127.0.0.1.
type ports struct {
	Etcd, EtcdPeer, APIServer, ControllerManager, Scheduler, Kubelet, Azurite int
	// HTTP endpoints of the CSI sidecars; answering means started.
	Provisioner, SnapshotController, Snapshotter int
}

func etcdArgs(dir string, p ports) []string {
	peer := "http://127.0.0.1:" + strconv.Itoa(p.EtcdPeer)
	client := "http://127.0.0.1:" + strconv.Itoa(p.Etcd)
	return []string{
		"--name=default", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		"--unsafe-no-fsync", // a throwaway test store: durability buys nothing
	}
}

func apiServerArgs(k *pki, p ports) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(p.Etcd),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.APIServer),
		"--tls-cert-file=" + k.ServingCert, "--tls-private-key-file=" + k.ServingKey,
		"--client-ca-file=" + k.CACert,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + k.SAPub, "--service-account-signing-key-file=" + k.SAKey,
		"--service-cluster-ip-range=" + serviceRange,
		"--authorization-mode=RBAC", "--allow-privileged=true",
		// The process node mounts service-account tokens itself.
		"--disable-admission-plugins=ServiceAccount",
		"--kubelet-client-certificate=" + k.AdminCert, "--kubelet-client-key=" + k.AdminKey,
		"--kubelet-preferred-address-types=InternalIP",
	}
}

func controllerManagerArgs(k *pki, kubeconfig string, p ports) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--authentication-skip-lookup", "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(p.ControllerManager),
		"--root-ca-file=" + k.CACert, "--service-account-private-key-file=" + k.SAKey,
		"--use-service-account-credentials=false",
		"--controllers=" + strings.Join(controllers, ","),
	}
}

func schedulerArgs(kubeconfig string, p ports) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(p.Scheduler),
	}
}

func csiSocket(dir string) string { return filepath.Join(dir, "csi", "csi.sock") }

func csiDriverArgs(dir, node, driver string) []string {
	return []string{"csi-driver",
		"--endpoint=unix://" + csiSocket(dir),
		"--data-dir=" + filepath.Join(dir, "csi", "data"),
		"--node-id=" + node, "--name=" + driver,
	}
}

// sidecarArgs are the flags external-provisioner and csi-snapshotter share.
func sidecarArgs(dir, kubeconfig string, httpPort int) []string {
	return []string{
		"--csi-address=" + csiSocket(dir), "--kubeconfig=" + kubeconfig,
		"--leader-election=false", "--extra-create-metadata", "--timeout=60s",
		"--http-endpoint=127.0.0.1:" + strconv.Itoa(httpPort),
	}
}

func azuriteArgs(dir string, p ports) []string {
	return []string{
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(p.Azurite),
		"--location", filepath.Join(dir, "azurite"),
		"--skipApiVersionCheck", "--loose", "--disableTelemetry",
	}
}

func nodeArgs(dir, kubeconfig, node, driver string, k *pki, p ports) []string {
	return []string{"node",
		"--name=" + node, "--kubeconfig=" + kubeconfig,
		"--state-dir=" + filepath.Join(dir, "node"),
		"--listen=127.0.0.1:" + strconv.Itoa(p.Kubelet),
		"--tls-cert=" + k.KubeletCert, "--tls-key=" + k.KubeletKey,
		"--apiserver-host=127.0.0.1", fmt.Sprintf("--apiserver-port=%d", p.APIServer),
		"--ca-file=" + k.CACert,
		"--csi-driver=" + driver, "--csi-endpoint=unix://" + csiSocket(dir),
	}
}
