package localarm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// BlobStore keeps the page blobs of storage accounts: the VHDs
// beginGetAccess serves and those Import reads. AzuriteBlobs reaches real
// ones; MemBlobs is an in-memory fake for unit tests.
type BlobStore interface {
	// PutPageBlob creates or replaces the page blob container/name in acct,
	// creating the container if needed, and returns the blob's URL with a
	// read-only SAS valid until expiry.
	PutPageBlob(ctx context.Context, acct StorageAccount, container, name string, pb PageBlob, expiry time.Time) (sasURL string, err error)
	// DeleteBlob deletes container/name in acct; a missing blob is no error.
	DeleteBlob(ctx context.Context, acct StorageAccount, container, name string) error
	// ReadPageBlob reads the page blob at blobURL (any query is ignored),
	// a blob of acct, with acct's key. It returns an error wrapping
	// ErrBlobNotFound if there is no such blob.
	ReadPageBlob(ctx context.Context, acct StorageAccount, blobURL string) (PageBlob, error)
}

// ErrBlobNotFound is wrapped by a BlobStore's errors for a missing blob.
var ErrBlobNotFound = errors.New("blob not found")

// containerURL is the URL of a container in acct.
func containerURL(acct StorageAccount, container string) string {
	return strings.TrimRight(acct.Endpoint, "/") + "/" + container
}

// blobURL is the URL of container/name in acct.
func blobURL(acct StorageAccount, container, name string) string {
	return containerURL(acct, container) + "/" + url.PathEscape(name)
}

// withoutQuery strips the query (a SAS) from u.
func withoutQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// MemBlobs is an in-memory BlobStore, a fake for unit tests where no
// Azurite runs. Its SAS URLs are not served over HTTP: hand them to
// CopyFromURL, which stands in for a StartCopyFromURL by the client.
// The zero value is not usable; call NewMemBlobs.
type MemBlobs struct {
	mu    sync.Mutex
	blobs map[string]*memBlob // by blob URL without query
}

type memBlob struct {
	pb   PageBlob
	sigs map[string]bool // signatures of the SAS issued for it
}

// NewMemBlobs returns an empty MemBlobs.
func NewMemBlobs() *MemBlobs { return &MemBlobs{blobs: map[string]*memBlob{}} }

// PutPageBlob stores pb and returns its URL with a made-up read SAS.
func (m *MemBlobs) PutPageBlob(_ context.Context, acct StorageAccount, container, name string, pb PageBlob, expiry time.Time) (string, error) {
	u := blobURL(acct, container, name)
	sig := newUUID()
	m.mu.Lock()
	m.blobs[u] = &memBlob{pb: clonePageBlob(pb), sigs: map[string]bool{sig: true}}
	m.mu.Unlock()
	q := url.Values{"sv": {"2021-12-02"}, "sr": {"b"}, "sp": {"r"}, "se": {expiry.UTC().Format(time.RFC3339)}, "sig": {sig}}
	return u + "?" + q.Encode(), nil
}

// DeleteBlob deletes the blob, which ends every SAS for it.
func (m *MemBlobs) DeleteBlob(_ context.Context, acct StorageAccount, container, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, blobURL(acct, container, name))
	return nil
}

// ReadPageBlob returns the blob at blobURL.
func (m *MemBlobs) ReadPageBlob(_ context.Context, _ StorageAccount, blobURL string) (PageBlob, error) {
	pb, ok := m.Blob(blobURL)
	if !ok {
		return PageBlob{}, fmt.Errorf("%s: %w", withoutQuery(blobURL), ErrBlobNotFound)
	}
	return pb, nil
}

// Blob returns the blob at blobURL (any query is ignored).
func (m *MemBlobs) Blob(blobURL string) (PageBlob, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[withoutQuery(blobURL)]
	if !ok {
		return PageBlob{}, false
	}
	return clonePageBlob(b.pb), true
}

// Put stores pb at blobURL (any query is ignored), as a client's upload to
// a storage account would.
func (m *MemBlobs) Put(blobURL string, pb PageBlob) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[withoutQuery(blobURL)] = &memBlob{pb: clonePageBlob(pb), sigs: map[string]bool{}}
}

// CopyFromURL copies the blob that srcSAS (a URL PutPageBlob returned)
// names to dstURL, as a client's StartCopyFromURL with that SAS as the
// source does. It fails if the SAS's blob is gone (access was revoked) or
// its signature was not issued for it. Expiry is not checked.
func (m *MemBlobs) CopyFromURL(srcSAS, dstURL string) error {
	u, err := url.Parse(srcSAS)
	if err != nil {
		return fmt.Errorf("parse source URL: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[withoutQuery(srcSAS)]
	switch {
	case !ok:
		return fmt.Errorf("copy source %s: %w", withoutQuery(srcSAS), ErrBlobNotFound)
	case !b.sigs[u.Query().Get("sig")]:
		return fmt.Errorf("copy source %s: the SAS signature does not match (403 AuthenticationFailed)", withoutQuery(srcSAS))
	}
	m.blobs[withoutQuery(dstURL)] = &memBlob{pb: clonePageBlob(b.pb), sigs: map[string]bool{}}
	return nil
}

// Len returns how many blobs m holds.
func (m *MemBlobs) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.blobs)
}

// clonePageBlob copies pb's page map; the page slices are never changed.
func clonePageBlob(pb PageBlob) PageBlob {
	c := PageBlob{Size: pb.Size, Pages: make(map[int64][]byte, len(pb.Pages))}
	for o, p := range pb.Pages {
		c.Pages[o] = p
	}
	return c
}

var _ BlobStore = (*MemBlobs)(nil)
