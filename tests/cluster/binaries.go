package cluster

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Versions of the local cluster's programs. tests/cluster/tools/build.sh has
// the same values (KUBE_VERSION=..., and so on); binaries_test.go fails if the
// two drift apart, and AzuriteVersion must equal the pin in
// azurite/package.json.
const (
	KubeVersion        = "v1.34.4"
	EtcdVersion        = "v3.5.21"
	ProvisionerVersion = "v5.3.0"
	SnapshotterVersion = "v8.7.0"
	AzuriteVersion     = "3.37.0"
)

// BuildCommand builds every binary that FindBinaries looks for.
const BuildCommand = "make cluster-tools"

// azuriteLock is the lockfile build.sh installs Azurite from; its hash names
// the install dir. Embedded so the hash is the one this code was built with,
// wherever it runs from.
//
//go:embed azurite/package-lock.json
var azuriteLock []byte

// Binaries are the paths of the local cluster's programs, built by tests/cluster/tools/build.sh.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kubectl, Provisioner, Snapshotter, SnapshotController, AzuriteBlob string
	// SnapshotCRDs are the snapshot.storage.k8s.io and
	// groupsnapshot.storage.k8s.io CRD manifests, sorted by file name.
	SnapshotCRDs []string
}

// CacheDir is $SNAPFLOW_CACHE or ~/.cache/snapflow.
func CacheDir() string {
	if d := os.Getenv("SNAPFLOW_CACHE"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "snapflow")
	}
	return filepath.Join(os.TempDir(), "snapflow-cache")
}

// Component dirs under cacheDir, as build.sh names them.
func kubeDir(cacheDir string) string {
	return filepath.Join(cacheDir, "bin", "kube-"+KubeVersion)
}

func etcdDir(cacheDir string) string {
	return filepath.Join(cacheDir, "bin", "etcd-"+EtcdVersion)
}

func provisionerDir(cacheDir string) string {
	return filepath.Join(cacheDir, "bin", "csi-provisioner-"+ProvisionerVersion)
}

func snapshotterDir(cacheDir string) string {
	return filepath.Join(cacheDir, "bin", "external-snapshotter-"+SnapshotterVersion)
}

// AzuriteDir is where build.sh installs Azurite: azurite-<first 12 hex
// digits of the SHA-256 of azurite/package-lock.json>.
func AzuriteDir(cacheDir string) string {
	sum := sha256.Sum256(azuriteLock)
	return filepath.Join(cacheDir, "azurite-"+hex.EncodeToString(sum[:])[:12])
}

// FindBinaries locates every binary under cacheDir and returns a clear error naming what is missing and the command that builds it (make cluster-tools).
func FindBinaries(cacheDir string) (Binaries, error) {
	var missing []string
	exe := func(dir, name string) string {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			missing = append(missing, p)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			missing = append(missing, p+" (not an executable file)")
		}
		return p
	}
	kube, snap := kubeDir(cacheDir), snapshotterDir(cacheDir)
	b := Binaries{
		Etcd:               exe(etcdDir(cacheDir), "etcd"),
		APIServer:          exe(kube, "kube-apiserver"),
		ControllerManager:  exe(kube, "kube-controller-manager"),
		Scheduler:          exe(kube, "kube-scheduler"),
		Kubectl:            exe(kube, "kubectl"),
		Provisioner:        exe(provisionerDir(cacheDir), "csi-provisioner"),
		Snapshotter:        exe(snap, "csi-snapshotter"),
		SnapshotController: exe(snap, "snapshot-controller"),
		AzuriteBlob:        exe(filepath.Join(AzuriteDir(cacheDir), "node_modules", ".bin"), "azurite-blob"),
	}
	crdDir := filepath.Join(snap, "crds")
	for _, pattern := range []string{"snapshot.storage.k8s.io_*.yaml", "groupsnapshot.storage.k8s.io_*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(crdDir, pattern))
		if len(m) == 0 {
			missing = append(missing, filepath.Join(crdDir, pattern))
		}
		b.SnapshotCRDs = append(b.SnapshotCRDs, m...)
	}
	sort.Strings(b.SnapshotCRDs)
	if len(missing) > 0 {
		return b, errors.New(missingMessage(cacheDir, missing))
	}
	return b, nil
}

func missingMessage(cacheDir string, missing []string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "local cluster binaries missing under %s:\n", cacheDir)
	for _, m := range missing {
		fmt.Fprintf(&s, "  %s\n", m)
	}
	fmt.Fprintf(&s, "build them with `%s` (tests/cluster/tools/build.sh; about 25 min cold, "+
		"seconds when cached; SNAPFLOW_CACHE picks the cache dir)", BuildCommand)
	return s.String()
}
