package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The versions build.sh builds must be the ones FindBinaries looks for.
func TestBuildScriptVersionsMatchConstants(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("tools", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"KUBE_VERSION":        KubeVersion,
		"ETCD_VERSION":        EtcdVersion,
		"PROVISIONER_VERSION": ProvisionerVersion,
		"SNAPSHOTTER_VERSION": SnapshotterVersion,
		"AZURITE_VERSION":     AzuriteVersion,
	} {
		m := regexp.MustCompile(`(?m)^`+name+`=([^\s#]+)`).FindAllSubmatch(script, -1)
		if len(m) != 1 {
			t.Errorf("build.sh: want exactly one line %s=..., found %d", name, len(m))
			continue
		}
		if got := string(m[0][1]); got != want {
			t.Errorf("build.sh has %s=%s, binaries.go has %s", name, got, want)
		}
	}
}

// The pin in package.json, the lockfile and AzuriteVersion agree, and the
// embedded lockfile (whose hash names the install dir) is the one on disk.
func TestAzuritePin(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("azurite", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	if got := pkg.Dependencies["azurite"]; got != AzuriteVersion {
		t.Errorf("azurite/package.json pins azurite %q, want exactly %q", got, AzuriteVersion)
	}
	lock, err := os.ReadFile(filepath.Join("azurite", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lock, azuriteLock) {
		t.Fatal("embedded package-lock.json differs from the file on disk")
	}
	var l struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	if got := l.Packages["node_modules/azurite"].Version; got != AzuriteVersion {
		t.Errorf("package-lock.json has azurite %q, want %q: run npm install --package-lock-only in tests/cluster/azurite", got, AzuriteVersion)
	}
	sum := sha256.Sum256(lock)
	if want := "azurite-" + hex.EncodeToString(sum[:])[:12]; filepath.Base(AzuriteDir("/c")) != want {
		t.Errorf("AzuriteDir = %s, want .../%s", AzuriteDir("/c"), want)
	}
}

func TestFindBinaries(t *testing.T) {
	cache := t.TempDir()
	_, err := FindBinaries(cache)
	if err == nil {
		t.Fatal("FindBinaries on an empty cache: no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"make cluster-tools",
		filepath.Join("bin", "kube-"+KubeVersion, "kube-apiserver"),
		filepath.Join("bin", "kube-"+KubeVersion, "kubectl"),
		filepath.Join("bin", "etcd-"+EtcdVersion, "etcd"),
		filepath.Join("bin", "csi-provisioner-"+ProvisionerVersion, "csi-provisioner"),
		filepath.Join("bin", "external-snapshotter-"+SnapshotterVersion, "snapshot-controller"),
		filepath.Join("bin", "external-snapshotter-"+SnapshotterVersion, "crds", "snapshot.storage.k8s.io_*.yaml"),
		"azurite-blob",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %q:\n%s", want, msg)
		}
	}

	// Lay out the cache as build.sh does.
	write := func(rel string, mode os.FileMode) string {
		p := filepath.Join(cache, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kube := filepath.Join("bin", "kube-"+KubeVersion)
	snap := filepath.Join("bin", "external-snapshotter-"+SnapshotterVersion)
	want := Binaries{
		Etcd:               write(filepath.Join("bin", "etcd-"+EtcdVersion, "etcd"), 0o755),
		APIServer:          write(filepath.Join(kube, "kube-apiserver"), 0o755),
		ControllerManager:  write(filepath.Join(kube, "kube-controller-manager"), 0o755),
		Scheduler:          write(filepath.Join(kube, "kube-scheduler"), 0o755),
		Kubectl:            write(filepath.Join(kube, "kubectl"), 0o755),
		Provisioner:        write(filepath.Join("bin", "csi-provisioner-"+ProvisionerVersion, "csi-provisioner"), 0o755),
		Snapshotter:        write(filepath.Join(snap, "csi-snapshotter"), 0o755),
		SnapshotController: write(filepath.Join(snap, "snapshot-controller"), 0o755),
		AzuriteBlob:        filepath.Join(AzuriteDir(cache), "node_modules", ".bin", "azurite-blob"),
	}
	// azurite-blob is a symlink in node_modules/.bin.
	target := write(filepath.Join(filepath.Base(AzuriteDir(cache)), "node_modules", "azurite", "dist", "src", "blob", "main.js"), 0o755)
	if err := os.MkdirAll(filepath.Dir(want.AzuriteBlob), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, want.AzuriteBlob); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml",
		"snapshot.storage.k8s.io_volumesnapshotclasses.yaml",
		"snapshot.storage.k8s.io_volumesnapshots.yaml",
	} { // sorted, as FindBinaries returns them
		want.SnapshotCRDs = append(want.SnapshotCRDs, write(filepath.Join(snap, "crds", f), 0o644))
	}
	write(filepath.Join(snap, "crds", "kustomization.yaml"), 0o644)

	got, err := FindBinaries(cache)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindBinaries = %+v\nwant %+v", got, want)
	}

	// A file that is not executable counts as missing.
	if err := os.Chmod(want.Kubectl, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindBinaries(cache); err == nil || !strings.Contains(err.Error(), "kubectl (not an executable file)") {
		t.Errorf("non-executable kubectl: err = %v", err)
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("SNAPFLOW_CACHE", "/x/y")
	if got := CacheDir(); got != "/x/y" {
		t.Errorf("CacheDir with SNAPFLOW_CACHE=/x/y: %s", got)
	}
	t.Setenv("SNAPFLOW_CACHE", "")
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home dir")
	}
	if got, want := CacheDir(), filepath.Join(home, ".cache", "snapflow"); got != want {
		t.Errorf("CacheDir = %s, want %s", got, want)
	}
}
