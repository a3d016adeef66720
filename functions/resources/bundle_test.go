package resources

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scopeKinds are the kinds the capture tests' cluster serves, with
// whether they are namespaced.
func TestBundleEncodeDecode(t *testing.T) {
	objs := parseObjects(t, `
{apiVersion: v1, kind: Namespace, metadata: {name: shop}}
---
{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {replicas: 3, template: {spec: {containers: [{name: c, image: "shop:1", ports: [{containerPort: 8080}]}]}}}}
---
{apiVersion: v1, kind: Secret, metadata: {name: s, namespace: shop}, data: {k: aHVudGVyMg==}}`)
	data, err := Bundle{Objects: objs}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Errorf("the encoded bundle is not gzip: %q", data[:min(len(data), 16)])
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != BundleVersion {
		t.Errorf("version %d, want %d (Encode sets it)", got.Version, BundleVersion)
	}
	if diff := cmp.Diff(contents(objs), contents(got.Objects)); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	empty, err := Bundle{}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := Decode(empty); err != nil || len(b.Objects) != 0 {
		t.Errorf("empty bundle decodes to %+v, %v", b, err)
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBundleDecodeRefuses(t *testing.T) {
	newer := gzipped(t, `{"version": 2, "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]}`)
	if _, err := Decode(newer); !errors.Is(err, ErrNewerBundle) {
		t.Errorf("newer bundle: error %v, want one wrapping ErrNewerBundle", err)
	}
	same := gzipped(t, `{"version": 1, "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]}`)
	if _, err := Decode(same); err != nil {
		t.Errorf("bundle of this version: %v", err)
	}
	for name, data := range map[string][]byte{
		"garbage":            []byte("not a bundle at all"),
		"empty":              nil,
		"truncated":          newer[:len(newer)/2],
		"not json":           gzipped(t, "kind: ConfigMap"),
		"no kind":            gzipped(t, `{"version": 1, "objects": [{"apiVersion": "v1", "metadata": {"name": "a"}}]}`),
		"no name":            gzipped(t, `{"version": 1, "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}]}`),
		"null object":        gzipped(t, `{"version": 1, "objects": [null]}`),
		"objects not a list": gzipped(t, `{"version": 1, "objects": {"a": 1}}`),
	} {
		if b, err := Decode(data); err == nil {
			t.Errorf("%s: decoded to %+v, want an error", name, b)
		} else if errors.Is(err, ErrNewerBundle) {
			t.Errorf("%s: %v wraps ErrNewerBundle", name, err)
		}
	}
}

// preferredDiscovery is a fake discovery whose preferred namespaced
// resources are lists (the client-go fake returns none).
