// Package cluster starts a real Kubernetes on 127.0.0.1 from plain
// processes, for end-to-end tests, `make demo` and a developer's own work:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler; the CSI
// snapshot stack (the project's CSI driver, external-provisioner,
// snapshot-controller, csi-snapshotter); a process node that runs pods as
// host processes; and Azurite for Azure Blob. Binaries come from
// tests/cluster/tools/build.sh; see README.md for what runs and why.
package cluster
