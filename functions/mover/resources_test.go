package mover

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// plainBundle stands for a resource bundle: it holds a Secret value.
var plainBundle = []byte(`{"version":1,"objects":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"shop"},"data":{"password":"czNjcjN0LXZhbHVl"}}],"note":"s3cr3t-value"}`)

func TestSealOpenBundle(t *testing.T) {
	sealed, err := SealBundle("right", plainBundle)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenBundle("right", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plainBundle) {
		t.Errorf("opened %q, want %q", got, plainBundle)
	}

	again, err := SealBundle("right", plainBundle)
	if err != nil {
		t.Fatal(err)
	}
	if again == sealed {
		t.Error("sealing twice gave the same ciphertext: the nonce is not fresh")
	}

	empty, err := SealBundle("right", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenBundle("right", empty); err != nil || len(got) != 0 {
		t.Errorf("empty bundle opened to %q, %v", got, err)
	}
}

// TestSealedBundleHidesPlaintext: neither the bundle nor its Secret value
// shows in what the mover prints, raw or as base64.
func TestSealedBundleHidesPlaintext(t *testing.T) {
	sealed, err := SealBundle("right", plainBundle)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatalf("sealed bundle is not base64: %v", err)
	}
	for _, secret := range []string{"s3cr3t-value", "czNjcjN0LXZhbHVl", "Secret", base64.StdEncoding.EncodeToString([]byte("s3cr3t-value"))} {
		if strings.Contains(sealed, secret) || bytes.Contains(raw, []byte(secret)) {
			t.Errorf("sealed bundle holds %q", secret)
		}
	}
	if bytes.Contains(raw, plainBundle[:32]) {
		t.Error("sealed bundle holds the plaintext")
	}
}

func TestOpenBundleRefuses(t *testing.T) {
	sealed, err := SealBundle("right", plainBundle)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct{ name, password, sealed string }{
		{"wrong password", "wrong", sealed},
		{"right password, other case", "Right", sealed},
		{"no password", "", sealed},
		{"tampered", "right", base64.StdEncoding.EncodeToString(flipped)},
		{"truncated", "right", base64.StdEncoding.EncodeToString(raw[:len(raw)-1])},
		{"shorter than a nonce", "right", base64.StdEncoding.EncodeToString(raw[:4])},
		{"not base64", "right", "not base64!"},
		{"empty", "right", ""},
		{"plaintext", "right", string(plainBundle)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenBundle(tc.password, tc.sealed)
			if err == nil || got != nil {
				t.Errorf("opened to %q, %v; want no data and an error", got, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q holds the plaintext", err)
			}
		})
	}
	if _, err := SealBundle("", plainBundle); err == nil {
		t.Error("sealed with no password")
	}
}

// TestRunPutGetResourcesFilesystem stores a bundle through put-resources
// in a filesystem repository and reads it back through get-resources: the
// line holds it sealed under the repository password, which opens it to
// the very bytes stored. A wrong password fails permanently, printing
// nothing of the bundle.
func TestRunPutGetResourcesFilesystem(t *testing.T) {
	repoDir, bundleDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bundleDir, BundleKey), plainBundle, 0o600); err != nil {
		t.Fatal(err)
	}
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: repoDir}
	creds := repository.Credentials{Password: "right"}
	put := Request{Location: loc, Source: Source{Host: "snapflow", User: "shop", Path: "resources/shop"}, BundleDir: bundleDir, ConfigDir: t.TempDir()}
	var out bytes.Buffer
	if err := Run(t.Context(), ModePutResources, put, creds, &out); err != nil {
		t.Fatalf("put-resources: %v; printed %s", err, out.String())
	}
	ls := lines(t, &out)
	last := ls[len(ls)-1]
	if !last.Done(ModePutResources) || last.Result.SnapshotID == "" || last.Result.Files != 1 {
		t.Fatalf("put-resources ended with %+v; want a result with one file", last)
	}
	if strings.Contains(out.String(), "s3cr3t") {
		t.Errorf("put-resources printed the bundle: %s", out.String())
	}

	get := Request{Location: loc, SnapshotID: last.Result.SnapshotID, ConfigDir: t.TempDir()}
	out.Reset()
	if err := Run(t.Context(), ModeGetResources, get, creds, &out); err != nil {
		t.Fatalf("get-resources: %v; printed %s", err, out.String())
	}
	ls = lines(t, &out)
	got := ls[len(ls)-1]
	if !got.Done(ModeGetResources) {
		t.Fatalf("get-resources ended with %+v; want the bundle", got)
	}
	if strings.Contains(out.String(), "s3cr3t") || strings.Contains(out.String(), "czNjcjN0LXZhbHVl") {
		t.Errorf("get-resources printed the bundle in clear: %s", out.String())
	}
	data, err := OpenBundle("right", got.Resources)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, plainBundle) {
		t.Errorf("read back %q, want %q", data, plainBundle)
	}
	if _, err := OpenBundle("wrong", got.Resources); err == nil {
		t.Error("the bundle opens with another password")
	}

	out.Reset()
	get.ConfigDir = t.TempDir()
	err = Run(t.Context(), ModeGetResources, get, repository.Credentials{Password: "guess-1234"}, &out)
	ls = lines(t, &out)
	if l := ls[len(ls)-1]; err == nil || !l.Permanent || l.Resources != "" || !strings.Contains(l.Error, "wrong repository password") {
		t.Errorf("wrong password: err %v, line %+v; want a permanent error and no bundle", err, l)
	}
}

// TestRunResourcesBadRequests: get-resources needs a snapshot, and
// put-resources a bundle to read.
func TestRunResourcesBadRequests(t *testing.T) {
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: t.TempDir()}
	creds := repository.Credentials{Password: "right"}
	var out bytes.Buffer
	err := Run(t.Context(), ModeGetResources, Request{Location: loc, ConfigDir: t.TempDir()}, creds, &out)
	if l := lines(t, &out)[0]; err == nil || !l.Permanent || !strings.Contains(l.Error, "get-resources needs a snapshotID") {
		t.Errorf("get-resources without a snapshot: err %v, line %+v; want a permanent error saying so", err, l)
	}

	out.Reset()
	put := Request{Location: loc, Source: Source{Host: "snapflow", User: "shop", Path: "resources/shop"}, BundleDir: t.TempDir(), ConfigDir: t.TempDir()}
	err = Run(t.Context(), ModePutResources, put, creds, &out)
	ls := lines(t, &out)
	if l := ls[len(ls)-1]; err == nil || l.Done(ModePutResources) || !strings.Contains(l.Error, "read the resource bundle") {
		t.Errorf("put-resources without a bundle: err %v, line %+v; want an error saying so", err, l)
	}
}
