package processnode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// readTree returns path -> "mode content" for the files below dir.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fi.Mode().Perm().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteKeyFiles(t *testing.T) {
	data := map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}
	mode400, mode600 := int32(0o400), int32(0o600)
	tests := []struct {
		name        string
		items       []corev1.KeyToPath
		defaultMode *int32
		optional    bool
		want        map[string]string
		wantErr     string
	}{
		{name: "all keys", want: map[string]string{"tls.crt": "-rw-r--r-- CERT", "tls.key": "-rw-r--r-- KEY"}},
		{name: "default mode", defaultMode: &mode600, want: map[string]string{"tls.crt": "-rw------- CERT", "tls.key": "-rw------- KEY"}},
		{name: "items", defaultMode: &mode600, items: []corev1.KeyToPath{
			{Key: "tls.key", Path: "keys/server.key", Mode: &mode400},
			{Key: "tls.crt", Path: "server.crt"},
		}, want: map[string]string{"keys/server.key": "-r-------- KEY", "server.crt": "-rw------- CERT"}},
		{name: "missing key", items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}, wantErr: `no key "ca.crt"`},
		{name: "missing optional key", optional: true, items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}, want: map[string]string{}},
		{name: "escaping path", items: []corev1.KeyToPath{{Key: "tls.crt", Path: "../evil"}}, wantErr: `invalid file path "../evil"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vol")
			err := writeKeyFiles(dir, data, tc.items, tc.defaultMode, tc.optional)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, readTree(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMountsFor(t *testing.T) {
	root := t.TempDir()
	w := &podWorker{vols: newPodVolumes()}
	w.vols.byName["data"] = volumeSource{path: filepath.Join(root, "data")}
	w.vols.byName["creds"] = volumeSource{path: filepath.Join(root, "creds"), readOnly: true}
	w.vols.saDir = filepath.Join(root, "sa")
	c := &corev1.Container{VolumeMounts: []corev1.VolumeMount{
		{Name: "data", MountPath: "/var/lib/db/sub", SubPath: "inner"},
		{Name: "creds", MountPath: "/etc/creds"},
		{Name: "data", MountPath: "/var", ReadOnly: true},
	}}
	got, err := w.mountsFor(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Source: filepath.Join(root, "data"), Target: "/var", ReadOnly: true},
		{Source: filepath.Join(root, "creds"), Target: "/etc/creds", ReadOnly: true},
		{Source: filepath.Join(root, "data", "inner"), Target: "/var/lib/db/sub"},
		{Source: filepath.Join(root, "sa"), Target: saMountPath, ReadOnly: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(root, "data", "inner")); err != nil || !fi.IsDir() {
		t.Errorf("subPath dir not created: %v", err)
	}
	bad := &corev1.Container{VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/x", SubPath: "../../etc"}}}
	if _, err := w.mountsFor(bad); err == nil || !strings.Contains(err.Error(), "invalid subPath") {
		t.Errorf("escaping subPath: error = %v", err)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/var/lib/my\040dir`); got != "/var/lib/my dir" {
		t.Errorf("unescapeMountPath = %q", got)
	}
}
