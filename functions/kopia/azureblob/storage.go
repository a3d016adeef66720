package azureblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	azb "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/kopia/kopia/repo/blob"
)

// StorageType is the kopia storage type name of this storage: the "type"
// kopia writes beside Options in a config file, and looks up on reopening.
// It differs from kopia's own "azureBlob" so the two never get confused.
const StorageType = "snapflow-azure"

var registerOnce sync.Once

// Register adds StorageType to kopia's storage registry
// (blob.AddSupportedStorage), so that blob.NewStorage and repo.Open can
// recreate this storage from a saved blob.ConnectionInfo. New calls it; a
// program that opens a config file without calling New first must call it,
// once, before using kopia concurrently (kopia's registry is an unguarded
// process-wide map). Repeated calls are no-ops.
func Register() {
	registerOnce.Do(func() {
		blob.AddSupportedStorage(StorageType, Options{}, New)
	})
}

// modTimeKey is the blob metadata key for a time set with
// blob.PutOptions.SetModTime, in Unix nanoseconds. It is the key kopia's own
// Azure backend uses, so both read each other's timestamps.
const modTimeKey = "Kopiamtime"

// probePrefix is listed by New to check that the container exists and the
// credentials work; no blob is expected to have it, so the listing is empty.
const probePrefix = "snapflow-azureblob-probe-"

// Request retries: azcore's retry policy retries transport errors and the
// status codes 408, 429, 500, 502, 503 and 504, with exponential backoff
// and honouring Retry-After. Conditional-write conflicts (409, 412) and
// missing blobs (404) are not retried.
const (
	// maxRetries gives a request six tries in all; with the delays below
	// that rides out about a minute of throttling or a brief outage.
	maxRetries = 5
	// retryDelay is the first backoff; azcore doubles it on each retry.
	retryDelay = time.Second
	// maxRetryDelay caps the backoff.
	maxRetryDelay = 30 * time.Second
	// tryTimeout bounds one try, including reading the body. kopia's packs
	// are tens of MB, so this allows transfers slower than 100 KB/s while
	// still ending a try that hangs.
	tryTimeout = 10 * time.Minute
	// readRetries is how often a download resumes after its body breaks
	// mid-stream (azblob's retry reader, which asks for the rest of the
	// same blob version by ETag).
	readRetries = 3
)

// storage is a blob.Storage in one container.
type storage struct {
	opt       Options // as given; returned by ConnectionInfo
	url       string  // container URL without any SAS, for messages
	container *container.Client
	secrets   []string // strings scrubbed from every error's text
}

var _ blob.Storage = (*storage)(nil)

// clientConfig overrides how the Azure client talks to the service. The
// zero value means the defaults; tests set a fake transport.
type clientConfig struct {
	transport policy.Transporter
	retry     *policy.RetryOptions
}

// New returns a blob.Storage over the container opt describes, after
// checking that the container exists and the credentials work. With
// isCreate and a shared key, New first creates the container if it is
// missing; a SAS is scoped to the container and cannot create it. New also
// calls Register.
func New(ctx context.Context, opt *Options, isCreate bool) (blob.Storage, error) {
	Register()
	return newStorage(ctx, opt, isCreate, clientConfig{})
}

func newStorage(ctx context.Context, opt *Options, isCreate bool, cfg clientConfig) (*storage, error) {
	if opt == nil {
		return nil, errors.New("azure blob storage: no options")
	}
	if err := opt.validate(); err != nil {
		return nil, fmt.Errorf("azure blob storage options: %w", err)
	}
	s := &storage{opt: *opt, secrets: secretsOf(opt)}
	var err error
	if s.url, err = containerURL(opt); err != nil {
		return nil, err
	}
	if s.container, err = newContainerClient(opt, cfg); err != nil {
		return nil, fmt.Errorf("azure container client for %s: %w", s.url, s.scrub(err))
	}
	if isCreate && opt.AccountKey != "" {
		_, err := s.container.Create(ctx, nil)
		if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil, fmt.Errorf("create container %q at %s: %w", opt.Container, s.url, s.scrub(err))
		}
	}
	if err := s.probe(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newContainerClient builds the azblob container client: shared key
// credential on the plain container URL, or no credential on the container
// URL with the SAS appended.
func newContainerClient(opt *Options, cfg clientConfig) (*container.Client, error) {
	u, err := clientURL(opt)
	if err != nil {
		return nil, err
	}
	retry := policy.RetryOptions{
		MaxRetries:    maxRetries,
		RetryDelay:    retryDelay,
		MaxRetryDelay: maxRetryDelay,
		TryTimeout:    tryTimeout,
	}
	if cfg.retry != nil {
		retry = *cfg.retry
	}
	co := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     retry,
		Telemetry: policy.TelemetryOptions{ApplicationID: "snapflow"},
		Transport: cfg.transport,
		// Azurite serves plain HTTP; a shared key signs requests rather
		// than travelling in them.
		InsecureAllowCredentialWithHTTP: strings.HasPrefix(u, "http://"),
	}}
	if opt.AccountKey == "" {
		return container.NewClientWithNoCredential(u, co)
	}
	cred, err := container.NewSharedKeyCredential(opt.AccountName, opt.AccountKey)
	if err != nil {
		// The SDK's message is about base64 decoding; don't risk more.
		return nil, errors.New("account key is not valid base64")
	}
	return container.NewClientWithSharedKeyCredential(u, cred, co)
}

// probe lists a prefix no blob has, which fails if the container is missing
// or the credentials are wrong, without listing any real blobs.
func (s *storage) probe(ctx context.Context) error {
	prefix := blobName(s.opt.Prefix, probePrefix)
	pager := s.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix, MaxResults: to.Ptr[int32](1)})
	if _, err := pager.NextPage(ctx); err != nil {
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return fmt.Errorf("open container %q at %s: container does not exist (create it, or open with isCreate and a shared key): %w", s.opt.Container, s.url, s.scrub(err))
		}
		return fmt.Errorf("open container %q at %s: %w", s.opt.Container, s.url, s.scrub(err))
	}
	return nil
}

func (s *storage) blobClient(id blob.ID) *azb.Client {
	return s.container.NewBlobClient(blobName(s.opt.Prefix, string(id)))
}

// GetBlob writes the blob, or length bytes of it from offset, to output
// (which it resets first). A negative length means the rest of the blob
// from offset; a zero length only checks that the blob exists and that
// offset is within it. A range past the end is blob.ErrInvalidRange.
func (s *storage) GetBlob(ctx context.Context, id blob.ID, offset, length int64, output blob.OutputBuffer) error {
	output.Reset()
	if offset < 0 {
		return s.rangeError(id, offset, length)
	}
	if length == 0 {
		md, err := s.GetMetadata(ctx, id)
		if err != nil {
			return err
		}
		if offset > md.Length {
			return s.rangeError(id, offset, length)
		}
		return nil
	}
	var opts azb.DownloadStreamOptions
	if length > 0 {
		opts.Range = azb.HTTPRange{Offset: offset, Count: length}
	} else {
		opts.Range = azb.HTTPRange{Offset: offset}
	}
	resp, err := s.blobClient(id).DownloadStream(ctx, &opts)
	if err != nil {
		return s.fail("get blob", id, err)
	}
	body := resp.NewRetryReader(ctx, &azb.RetryReaderOptions{MaxRetries: readRetries})
	defer body.Close()
	if _, err := io.Copy(output, body); err != nil {
		output.Reset()
		return s.fail("read blob", id, err)
	}
	if length > 0 && int64(output.Length()) != length {
		got := output.Length()
		output.Reset()
		return fmt.Errorf("get blob %q in container %q: %d bytes at offset %d, want %d: %w", id, s.opt.Container, got, offset, length, blob.ErrInvalidRange)
	}
	return nil
}

func (s *storage) rangeError(id blob.ID, offset, length int64) error {
	return fmt.Errorf("get blob %q in container %q: offset %d, length %d: %w", id, s.opt.Container, offset, length, blob.ErrInvalidRange)
}

// GetMetadata returns the blob's length and timestamp: the time set with
// PutOptions.SetModTime if there was one, else the service's last-modified
// time.
func (s *storage) GetMetadata(ctx context.Context, id blob.ID) (blob.Metadata, error) {
	p, err := s.blobClient(id).GetProperties(ctx, nil)
	if err != nil {
		return blob.Metadata{}, s.fail("get metadata of blob", id, err)
	}
	return metadata(id, p.ContentLength, p.LastModified, p.Metadata), nil
}

// PutBlob uploads data as the blob in one request, so that readers see the
// old blob or the new one, never part of it. With DoNotRecreate it fails
// with blob.ErrBlobAlreadyExists if the blob exists (If-None-Match: *).
// Retention options are unsupported (see the package doc).
func (s *storage) PutBlob(ctx context.Context, id blob.ID, data blob.Bytes, opts blob.PutOptions) error {
	if opts.HasRetentionOptions() {
		return fmt.Errorf("put blob %q in container %q with retention mode %q for %v: %w",
			id, s.opt.Container, opts.RetentionMode, opts.RetentionPeriod, blob.ErrUnsupportedPutBlobOption)
	}
	var uo blockblob.UploadOptions
	if !opts.SetModTime.IsZero() {
		uo.Metadata = map[string]*string{modTimeKey: to.Ptr(strconv.FormatInt(opts.SetModTime.UnixNano(), 10))}
	}
	if opts.DoNotRecreate {
		uo.AccessConditions = &azb.AccessConditions{ModifiedAccessConditions: &azb.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	}
	body := data.Reader()
	defer body.Close()
	resp, err := s.container.NewBlockBlobClient(blobName(s.opt.Prefix, string(id))).Upload(ctx, body, &uo)
	if err != nil {
		if opts.DoNotRecreate && bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
			return fmt.Errorf("put blob %q in container %q: %w", id, s.opt.Container, blob.ErrBlobAlreadyExists)
		}
		return s.fail("put blob", id, err)
	}
	if opts.GetModTime != nil {
		switch {
		case !opts.SetModTime.IsZero():
			*opts.GetModTime = opts.SetModTime
		case resp.LastModified != nil:
			*opts.GetModTime = *resp.LastModified
		default:
			return fmt.Errorf("put blob %q in container %q: the service returned no modification time", id, s.opt.Container)
		}
	}
	return nil
}

// DeleteBlob deletes the blob and any blob snapshots of it. Deleting a
// missing blob succeeds.
func (s *storage) DeleteBlob(ctx context.Context, id blob.ID) error {
	_, err := s.blobClient(id).Delete(ctx, &azb.DeleteOptions{DeleteSnapshots: to.Ptr(azb.DeleteSnapshotsOptionTypeInclude)})
	if err == nil || isNotFound(err) {
		return nil
	}
	return s.fail("delete blob", id, err)
}

// ListBlobs calls cb with the metadata of each blob whose ID starts with
// prefix, in name order, and stops at the first error cb returns, which it
// returns unchanged.
func (s *storage) ListBlobs(ctx context.Context, prefix blob.ID, cb func(blob.Metadata) error) error {
	opts := container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
	if full := blobName(s.opt.Prefix, string(prefix)); full != "" {
		opts.Prefix = &full
	}
	pager := s.container.NewListBlobsFlatPager(&opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return s.fail("list blobs with prefix", prefix, err)
		}
		for _, it := range page.Segment.BlobItems {
			if it == nil || it.Name == nil || it.Properties == nil {
				continue
			}
			md := metadata(blob.ID(blobID(s.opt.Prefix, *it.Name)), it.Properties.ContentLength, it.Properties.LastModified, it.Metadata)
			if err := cb(md); err != nil {
				return err
			}
		}
	}
	return nil
}

// metadata assembles blob.Metadata from what Azure reports for a blob,
// preferring a time kept under modTimeKey. Metadata keys are matched
// without regard to case: HTTP headers and list results spell them
// differently.
func metadata(id blob.ID, length *int64, lastModified *time.Time, meta map[string]*string) blob.Metadata {
	md := blob.Metadata{BlobID: id}
	if length != nil {
		md.Length = *length
	}
	if lastModified != nil {
		md.Timestamp = *lastModified
	}
	for k, v := range meta {
		if v == nil || !strings.EqualFold(k, modTimeKey) {
			continue
		}
		if nanos, err := strconv.ParseInt(*v, 10, 64); err == nil {
			md.Timestamp = time.Unix(0, nanos)
		}
	}
	return md
}

// ConnectionInfo returns StorageType and a copy of the options, from which
// blob.NewStorage reopens this storage once Register has run.
func (s *storage) ConnectionInfo() blob.ConnectionInfo {
	opt := s.opt
	return blob.ConnectionInfo{Type: StorageType, Config: &opt}
}

// DisplayName names the container (and prefix) by URL, without secrets.
func (s *storage) DisplayName() string {
	if s.opt.Prefix == "" {
		return "Azure Blob: " + s.url
	}
	return "Azure Blob: " + s.url + "/" + s.opt.Prefix
}

// GetCapacity returns blob.ErrNotAVolume: a container has no fixed size.
func (s *storage) GetCapacity(context.Context) (blob.Capacity, error) {
	return blob.Capacity{}, blob.ErrNotAVolume
}

// ExtendBlobRetention returns blob.ErrUnsupportedObjectLock: this storage
// does not do object lock (see the package doc).
func (s *storage) ExtendBlobRetention(_ context.Context, id blob.ID, _ blob.ExtendOptions) error {
	return fmt.Errorf("extend retention of blob %q in container %q: %w", id, s.opt.Container, blob.ErrUnsupportedObjectLock)
}

// IsReadOnly reports false: every method may write.
func (s *storage) IsReadOnly() bool { return false }

// FlushCaches does nothing: this storage caches nothing.
func (s *storage) FlushCaches(context.Context) error { return nil }

// Close does nothing: the Azure client holds no resources of its own (its
// HTTP connections are pooled process-wide).
func (s *storage) Close(context.Context) error { return nil }

// ContainerClient is an azblob client of opt's container, for callers
// that store blobs of their own there (crossRegionCopy's VHDs): the same
// endpoints, credentials and retries as the kopia storage.
func ContainerClient(opt *Options) (*container.Client, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	return newContainerClient(opt, clientConfig{})
}
