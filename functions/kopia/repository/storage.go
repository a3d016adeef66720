package repository

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/blob/filesystem"
	"github.com/kopia/kopia/repo/blob/s3"

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// defaultS3Endpoint is used when an s3 Location has no endpoint.
const defaultS3Endpoint = "s3.amazonaws.com"

// NewStorage returns kopia blob storage for loc, authenticated with c. With
// isCreate a filesystem Location's directory is created when missing (the
// export mover passes true, restore and listing pass false). Errors never
// contain secret values, and neither do the storage's own later errors.
// The caller closes the storage after closing any repository opened on it.
func NewStorage(ctx context.Context, loc v1alpha1.LocationSpec, c Credentials, isCreate bool) (blob.Storage, error) {
	r := newRedactor(c.secrets()...)

	st, err := newStorage(ctx, loc, c, isCreate)
	if err != nil {
		return nil, r.wrap(fmt.Errorf("location type %s: %w", loc.Type, err))
	}

	if len(r) == 0 {
		return st, nil
	}

	return &redactingStorage{Storage: st, r: r}, nil
}

func newStorage(ctx context.Context, loc v1alpha1.LocationSpec, c Credentials, isCreate bool) (blob.Storage, error) {
	switch loc.Type {
	case v1alpha1.LocationTypeFilesystem:
		return newFilesystem(ctx, loc, isCreate)
	case v1alpha1.LocationTypeS3:
		return newS3(ctx, loc, c, isCreate)
	case v1alpha1.LocationTypeAzure:
		return newAzure(ctx, loc, c, isCreate)
	default:
		return nil, fmt.Errorf("unknown location type %q: want %s, %s or %s", loc.Type,
			v1alpha1.LocationTypeAzure, v1alpha1.LocationTypeS3, v1alpha1.LocationTypeFilesystem)
	}
}

// newFilesystem stores the repository in path/prefix.
func newFilesystem(ctx context.Context, loc v1alpha1.LocationSpec, isCreate bool) (blob.Storage, error) {
	if loc.Path == "" {
		return nil, fmt.Errorf("path is empty")
	}

	dir, err := filesystemDir(loc.Path, loc.Prefix)
	if err != nil {
		return nil, err
	}

	st, err := filesystem.New(ctx, &filesystem.Options{Path: dir}, isCreate)
	if err != nil {
		return nil, fmt.Errorf("open directory %q: %w", dir, err)
	}

	return st, nil
}

// filesystemDir joins path and prefix; the prefix must stay inside path.
func filesystemDir(path, prefix string) (string, error) {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return path, nil
	}

	if !filepath.IsLocal(prefix) {
		return "", fmt.Errorf("prefix %q must be a relative path inside %q", prefix, path)
	}

	return filepath.Join(path, prefix), nil
}

func newS3(ctx context.Context, loc v1alpha1.LocationSpec, c Credentials, isCreate bool) (blob.Storage, error) {
	if loc.Bucket == "" {
		return nil, fmt.Errorf("bucket is empty")
	}

	host, noTLS, err := s3Endpoint(loc.Endpoint)
	if err != nil {
		return nil, err
	}

	st, err := s3.New(ctx, &s3.Options{
		BucketName:      loc.Bucket,
		Prefix:          folderPrefix(loc.Prefix),
		Endpoint:        host,
		DoNotUseTLS:     noTLS,
		Region:          loc.Region,
		AccessKeyID:     c.S3AccessKeyID,
		SecretAccessKey: c.S3SecretAccessKey,
		SessionToken:    c.S3SessionToken,
	}, isCreate)
	if err != nil {
		return nil, fmt.Errorf("open bucket %q at %s: %w", loc.Bucket, host, err)
	}

	return st, nil
}

// s3Endpoint turns a Location endpoint (URL or host:port) into the host:port
// kopia wants, and whether to use plain http.
func s3Endpoint(endpoint string) (host string, noTLS bool, err error) {
	if endpoint == "" {
		return defaultS3Endpoint, false, nil
	}

	if !strings.Contains(endpoint, "://") {
		return strings.TrimSuffix(endpoint, "/"), false, nil
	}

	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("parse endpoint: %w", err)
	}

	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("endpoint %q: scheme must be http or https", u.Redacted())
	}

	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return "", false, fmt.Errorf("endpoint %q: s3 endpoints take no path or query; use prefix", u.Redacted())
	}

	return u.Host, u.Scheme == "http", nil
}

// folderPrefix makes an object-store prefix name a folder.
func folderPrefix(prefix string) string {
	prefix = strings.TrimLeft(prefix, "/")
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return prefix
	}

	return prefix + "/"
}

func newAzure(ctx context.Context, loc v1alpha1.LocationSpec, c Credentials, isCreate bool) (blob.Storage, error) {
	if loc.Container == "" {
		return nil, fmt.Errorf("container is empty")
	}

	st, err := azureblob.New(ctx, &azureblob.Options{
		Endpoint:    loc.Endpoint,
		AccountName: c.AzureAccountName,
		AccountKey:  c.AzureAccountKey,
		SASToken:    c.AzureSASToken,
		Container:   loc.Container,
		Prefix:      folderPrefix(loc.Prefix),
	}, isCreate)
	if err != nil {
		return nil, fmt.Errorf("open container %q: %w", loc.Container, err)
	}

	return st, nil
}
