package localarm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// AzuriteBlobs is the BlobStore of real storage accounts, Azurite's (with
// path-style endpoints, http://127.0.0.1:PORT/<account>) or Azure's,
// reached through azblob with each account's shared key. Its SAS URLs are
// real service SAS, so a client can StartCopyFromURL from them. The zero
// value is ready to use.
type AzuriteBlobs struct {
	// Transport sends the requests; nil means azcore's default.
	Transport policy.Transporter
}

// maxPagesPerPut is the most one Put Pages request may write.
const maxPagesPerPut = 4 << 20

func (a *AzuriteBlobs) options() azcore.ClientOptions {
	return azcore.ClientOptions{Transport: a.Transport}
}

func (a *AzuriteBlobs) pageBlob(acct StorageAccount, u string) (*pageblob.Client, error) {
	cred, err := blob.NewSharedKeyCredential(acct.Name, acct.Key)
	if err != nil {
		return nil, fmt.Errorf("shared key of storage account %s: %w", acct.Name, err)
	}
	return pageblob.NewClientWithSharedKeyCredential(withoutQuery(u), cred, &pageblob.ClientOptions{ClientOptions: a.options()})
}

// PutPageBlob uploads pb, page by page, and signs a read SAS for it.
func (a *AzuriteBlobs) PutPageBlob(ctx context.Context, acct StorageAccount, containerName, name string, pb PageBlob, expiry time.Time) (string, error) {
	cred, err := container.NewSharedKeyCredential(acct.Name, acct.Key)
	if err != nil {
		return "", fmt.Errorf("shared key of storage account %s: %w", acct.Name, err)
	}
	cc, err := container.NewClientWithSharedKeyCredential(containerURL(acct, containerName), cred,
		&container.ClientOptions{ClientOptions: a.options()})
	if err != nil {
		return "", err
	}
	if _, err := cc.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return "", fmt.Errorf("create container %s: %w", containerName, err)
	}
	c, err := a.pageBlob(acct, blobURL(acct, containerName, name))
	if err != nil {
		return "", err
	}
	if _, err := c.Create(ctx, pb.Size, nil); err != nil {
		return "", fmt.Errorf("create page blob %s: %w", c.URL(), err)
	}
	for _, off := range pb.offsets() {
		p := pb.Pages[off]
		for done := 0; done < len(p); {
			n := min(len(p)-done, maxPagesPerPut)
			rng := blob.HTTPRange{Offset: off + int64(done), Count: int64(n)}
			if _, err := c.UploadPages(ctx, streaming.NopCloser(bytes.NewReader(p[done:done+n])), rng, nil); err != nil {
				return "", fmt.Errorf("put pages at %d of %s: %w", rng.Offset, c.URL(), err)
			}
			done += n
		}
	}
	return c.GetSASURL(sas.BlobPermissions{Read: true}, expiry, nil)
}

// DeleteBlob deletes the blob.
func (a *AzuriteBlobs) DeleteBlob(ctx context.Context, acct StorageAccount, containerName, name string) error {
	c, err := a.pageBlob(acct, blobURL(acct, containerName, name))
	if err != nil {
		return err
	}
	if _, err := c.Delete(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return fmt.Errorf("delete %s: %w", c.URL(), err)
	}
	return nil
}

// ReadPageBlob reads the blob's page ranges, skipping what was never
// written.
func (a *AzuriteBlobs) ReadPageBlob(ctx context.Context, acct StorageAccount, u string) (PageBlob, error) {
	c, err := a.pageBlob(acct, u)
	if err != nil {
		return PageBlob{}, err
	}
	props, err := c.GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return PageBlob{}, fmt.Errorf("%s: %w", c.URL(), ErrBlobNotFound)
	} else if err != nil {
		return PageBlob{}, fmt.Errorf("get properties of %s: %w", c.URL(), err)
	}
	if props.BlobType == nil || *props.BlobType != blob.BlobTypePageBlob || props.ContentLength == nil {
		return PageBlob{}, fmt.Errorf("%s is not a page blob", c.URL())
	}
	pb := PageBlob{Size: *props.ContentLength, Pages: map[int64][]byte{}}
	pager := c.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return PageBlob{}, fmt.Errorf("get page ranges of %s: %w", c.URL(), err)
		}
		for _, r := range page.PageRange {
			if r.Start == nil || r.End == nil {
				continue
			}
			n := *r.End - *r.Start + 1
			resp, err := c.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: *r.Start, Count: n}})
			if err != nil {
				return PageBlob{}, fmt.Errorf("download %d bytes at %d of %s: %w", n, *r.Start, c.URL(), err)
			}
			p, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return PageBlob{}, fmt.Errorf("download %d bytes at %d of %s: %w", n, *r.Start, c.URL(), err)
			}
			if int64(len(p)) != n {
				return PageBlob{}, fmt.Errorf("download at %d of %s: got %d bytes, want %d", *r.Start, c.URL(), len(p), n)
			}
			pb.Pages[*r.Start] = p
		}
	}
	return pb, nil
}

var _ BlobStore = (*AzuriteBlobs)(nil)
