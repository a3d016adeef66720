package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/repo/format"
)

// Cache limits per repository in configDir/cache. Soft limits are what
// kopia sweeps down to; hard limits are never exceeded. Together the hard
// limits bound the cache at 1.25 GiB.
const (
	// ContentCacheSoftLimit bounds cached file data. A mover reads each data
	// chunk about once, so this cache earns little and is kept small.
	ContentCacheSoftLimit = 128 << 20
	// ContentCacheHardLimit is the most file data kopia keeps cached.
	ContentCacheHardLimit = 256 << 20
	// MetadataCacheSoftLimit bounds cached directories, indexes and
	// manifests, which incremental uploads and listings read again and again.
	MetadataCacheSoftLimit = 512 << 20
	// MetadataCacheHardLimit is the most metadata kopia keeps cached.
	MetadataCacheHardLimit = 1 << 30
)

// clientName is the kopia user name recorded in write sessions.
const clientName = "snapflow"

// ErrWrongPassword is returned by Open when the password does not decrypt
// the repository. Nothing was written to the storage.
var ErrWrongPassword = errors.New("wrong repository password")

// ErrNotRepository is returned by Open when the storage holds blobs but no
// kopia repository; Open refuses to create one over them.
var ErrNotRepository = errors.New("storage holds data but no kopia repository (kopia.repository is missing)")

// Open connects to the repository in st, creating it on first use (only when
// st holds no blob at all). A wrong password is ErrWrongPassword and never
// re-initializes or writes to the repository. configDir holds kopia's
// config and cache (see the package doc for limits); several repositories
// may share one configDir. The caller closes the repository, then st.
// As in every kopia client, if another client starts a format upgrade of
// the repository while it is open, kopia ends the process rather than
// write in the old format.
func Open(ctx context.Context, st blob.Storage, password, configDir string) (repo.Repository, error) {
	return openOrConnect(ctx, st, password, configDir, true)
}

// ErrNoRepository is returned by Connect when the storage holds no
// repository yet.
var ErrNoRepository = errors.New("no kopia repository here yet: nothing was exported to this Location")

// Connect is Open for readers such as the kubectl plugin: it never
// creates a repository, and empty storage is ErrNoRepository.
func Connect(ctx context.Context, st blob.Storage, password, configDir string) (repo.Repository, error) {
	return openOrConnect(ctx, st, password, configDir, false)
}

func openOrConnect(ctx context.Context, st blob.Storage, password, configDir string, create bool) (repo.Repository, error) {
	rep, err := open(ctx, st, password, configDir, create)
	if err != nil {
		return nil, newRedactor(password).wrap(fmt.Errorf("open repository in %s: %w", st.DisplayName(), err))
	}

	return rep, nil
}

func open(ctx context.Context, st blob.Storage, password, configDir string, create bool) (repo.Repository, error) {
	if password == "" {
		return nil, errors.New("repository password is empty")
	}

	f, err := readFormat(ctx, st)
	switch {
	case errors.Is(err, blob.ErrBlobNotFound) && create:
		f, err = createFormat(ctx, st, password)
	case errors.Is(err, blob.ErrBlobNotFound):
		err = ErrNoRepository
	}

	if err != nil {
		return nil, err
	}

	cfg, err := writeConfig(st, configDir, f.UniqueID)
	if err != nil {
		return nil, err
	}
	defer cfg.remove()

	rep, err := repo.Open(ctx, cfg.path, password, &repo.Options{})
	if errors.Is(err, repo.ErrInvalidPassword) {
		return nil, ErrWrongPassword
	}

	if err != nil {
		return nil, fmt.Errorf("kopia open: %w", err)
	}

	return rep, nil
}

// createFormat creates the repository in st, which must hold no blob, and
// returns its format blob.
func createFormat(ctx context.Context, st blob.Storage, password string) (*format.KopiaRepositoryJSON, error) {
	if err := ensureEmpty(ctx, st); err != nil {
		return nil, err
	}

	if err := repo.Initialize(ctx, st, &repo.NewRepositoryOptions{}, password); err != nil && !errors.Is(err, repo.ErrAlreadyInitialized) {
		return nil, fmt.Errorf("create repository: %w", err)
	}

	return readFormat(ctx, st)
}

func readFormat(ctx context.Context, st blob.Storage) (*format.KopiaRepositoryJSON, error) {
	var buf outputBuffer
	if err := st.GetBlob(ctx, format.KopiaRepositoryBlobID, 0, -1, &buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", format.KopiaRepositoryBlobID, err)
	}

	f, err := format.ParseKopiaRepositoryJSON(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", format.KopiaRepositoryBlobID, err)
	}

	return f, nil
}

var errStopListing = errors.New("stop listing")

// ensureEmpty fails with ErrNotRepository when st holds any blob.
func ensureEmpty(ctx context.Context, st blob.Storage) error {
	var found blob.ID

	err := st.ListBlobs(ctx, "", func(m blob.Metadata) error {
		found = m.BlobID
		return errStopListing
	})
	if err != nil && !errors.Is(err, errStopListing) {
		return fmt.Errorf("list blobs: %w", err)
	}

	if found != "" {
		return fmt.Errorf("%w: found blob %s", ErrNotRepository, found)
	}

	return nil
}

// cacheDir is the repository's own cache directory inside configDir.
func cacheDir(configDir string, uniqueID []byte) string {
	return filepath.Join(configDir, "cache", hex.EncodeToString(uniqueID))
}

// config is a kopia config file that names st by an in-process handle.
type config struct {
	path   string
	handle string
}

// writeConfig writes a kopia config for st to a new file in configDir. The
// file holds no credentials: kopia finds st through bridgeFactory.
func writeConfig(st blob.Storage, configDir string, uniqueID []byte) (*config, error) {
	dir, err := filepath.Abs(configDir)
	if err != nil {
		return nil, fmt.Errorf("config dir %q: %w", configDir, err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create config dir: %w", err)
	}

	c := &config{handle: randomHandle()}
	c.path = filepath.Join(dir, "repository-"+c.handle+".config")

	b, err := json.Marshal(repo.LocalConfig{
		Storage: &blob.ConnectionInfo{Type: bridgeStorageType, Config: &bridgeConfig{Handle: c.handle}},
		Caching: cachingOptions(cacheDir(dir, uniqueID)),
		ClientOptions: repo.ClientOptions{
			Username:    clientName,
			Description: clientName,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encode kopia config: %w", err)
	}

	if err := os.WriteFile(c.path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write kopia config: %w", err)
	}

	bridgeAdd(c.handle, st)

	return c, nil
}

// remove deletes the config file once kopia has opened the repository.
func (c *config) remove() {
	bridgeRemove(c.handle)
	_ = os.Remove(c.path)
}

func cachingOptions(dir string) *content.CachingOptions {
	return &content.CachingOptions{
		CacheDirectory:              dir,
		ContentCacheSizeBytes:       ContentCacheSoftLimit,
		ContentCacheSizeLimitBytes:  ContentCacheHardLimit,
		MetadataCacheSizeBytes:      MetadataCacheSoftLimit,
		MetadataCacheSizeLimitBytes: MetadataCacheHardLimit,
	}
}

func randomHandle() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails

	return hex.EncodeToString(b)
}

// outputBuffer is a blob.OutputBuffer over bytes.Buffer.
type outputBuffer struct{ bytes.Buffer }

func (b *outputBuffer) Length() int { return b.Len() }
