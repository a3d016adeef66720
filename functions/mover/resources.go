package mover

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/functions/kopia/repository"
)

// A resource bundle (backupResources' captured objects, Secrets
// included) travels to a put-resources mover in a Secret mounted at
// BundleDir, and is stored as a kopia snapshot of one file. A
// get-resources mover restores it and prints it sealed with a key derived
// from the repository password: the pod log then holds only ciphertext,
// which only a holder of the password (the controller) can open.
const (
	BundleDir  = "/snapflow/resources" // the bundle Secret's mount
	BundleKey  = "bundle"              // the Secret's key, and the file's name
	bundleFile = "resources.json.gz"
)

// putResources stores the bundle at BundleDir as a snapshot of source.
func putResources(ctx context.Context, rep repo.Repository, req Request) (Line, error) {
	data, err := os.ReadFile(filepath.Join(bundleDir(req), BundleKey))
	if err != nil {
		return Line{}, fmt.Errorf("read the resource bundle: %w", err)
	}
	dir, err := os.MkdirTemp(req.ConfigDir, "resources-")
	if err != nil {
		return Line{}, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, bundleFile), data, 0o600); err != nil {
		return Line{}, err
	}
	src := snapshot.SourceInfo{Host: req.Source.Host, UserName: req.Source.User, Path: req.Source.Path}
	res, err := repository.Upload(ctx, rep, dir, src, 1, nil)
	return Line{Result: &res}, err
}

// getResources restores bundle snapshot req.SnapshotID and seals it.
func getResources(ctx context.Context, rep repo.Repository, req Request, password string) (Line, error) {
	dir, err := os.MkdirTemp(req.ConfigDir, "resources-")
	if err != nil {
		return Line{}, err
	}
	defer os.RemoveAll(dir)
	if _, err := repository.Restore(ctx, rep, req.SnapshotID, dir, nil); err != nil {
		return Line{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, bundleFile))
	if err != nil {
		return Line{}, fmt.Errorf("snapshot %s holds no resource bundle: %w", req.SnapshotID, err)
	}
	sealed, err := SealBundle(password, data)
	return Line{Resources: sealed}, err
}

func bundleDir(req Request) string {
	if req.BundleDir != "" {
		return req.BundleDir
	}
	return BundleDir
}

// SealBundle encrypts data with AES-256-GCM under a key derived from the
// repository password, as base64.
func SealBundle(password string, data []byte) (string, error) {
	aead, err := bundleCipher(password)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, data, nil)), nil
}

// OpenBundle is the inverse of SealBundle.
func OpenBundle(password, sealed string) ([]byte, error) {
	aead, err := bundleCipher(password)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("the mover's resource bundle is not sealed data")
	}
	data, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("the mover's resource bundle does not open with the repository password")
	}
	return data, nil
}

func bundleCipher(password string) (cipher.AEAD, error) {
	if password == "" {
		return nil, errors.New("no repository password to seal the resource bundle with")
	}
	key, err := hkdf.Key(sha256.New, []byte(password), nil, "snapflow resource bundle", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
