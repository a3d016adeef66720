package resources

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// BundleVersion is the version of the stored bundle. A reader refuses a
// newer one rather than misread it.
const BundleVersion = 1

// ErrNewerBundle marks a bundle written by a newer snapflow.
var ErrNewerBundle = errors.New("bundle from a newer snapflow")

// maxBundleBytes bounds a decoded bundle, so a corrupt or hostile one
// cannot exhaust the controller's memory.
const maxBundleBytes = 256 << 20

// Bundle is what backupResources captured: cleaned objects, in capture
// order.
type Bundle struct {
	Version int                          `json:"version"`
	Objects []*unstructured.Unstructured `json:"objects"`
}

// Encode is the bundle as gzip-compressed JSON.
func (b Bundle) Encode() ([]byte, error) {
	b.Version = BundleVersion
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode the captured objects: %w", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress the captured objects: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress the captured objects: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reads a bundle Encode wrote.
func Decode(data []byte) (Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return Bundle{}, fmt.Errorf("read the captured objects: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxBundleBytes+1))
	if err != nil {
		return Bundle{}, fmt.Errorf("read the captured objects: %w", err)
	}
	if len(raw) > maxBundleBytes {
		return Bundle{}, fmt.Errorf("the captured objects take more than %d bytes", maxBundleBytes)
	}
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return Bundle{}, fmt.Errorf("read the captured objects: %w", err)
	}
	if b.Version > BundleVersion {
		return Bundle{}, fmt.Errorf("%w: it has format version %d; this snapflow reads up to %d", ErrNewerBundle, b.Version, BundleVersion)
	}
	for i, o := range b.Objects {
		if o == nil || o.GetKind() == "" || o.GetName() == "" {
			return Bundle{}, fmt.Errorf("read the captured objects: object %d has no kind or name", i)
		}
	}
	return b, nil
}

// Refs are the bundle's objects' Refs, in order.
func (b Bundle) Refs() []Ref {
	refs := make([]Ref, len(b.Objects))
	for i, o := range b.Objects {
		refs[i] = RefOf(o)
	}
	return refs
}
