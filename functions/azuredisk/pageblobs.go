package azuredisk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"k8s.io/apimachinery/pkg/util/wait"
)

// ContainerBlobs are PageBlobs in one azblob container, created on first
// use.
type ContainerBlobs struct {
	Container *container.Client
	Poll      time.Duration // how often a copy's status is read
	// Progress, when set, hears the bytes a copy has done of its total.
	Progress func(done, total int64)
}

var _ PageBlobs = ContainerBlobs{}

// URL implements PageBlobs.
func (c ContainerBlobs) URL(name string) string { return c.Container.NewPageBlobClient(name).URL() }

// CopyFromURL implements PageBlobs with a server-side copy.
func (c ContainerBlobs) CopyFromURL(ctx context.Context, name, source string) (int64, error) {
	if _, err := c.Container.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return 0, fmt.Errorf("create the container of %s: %w", c.URL(name), err)
	}
	pb := c.Container.NewPageBlobClient(name)
	if _, err := pb.StartCopyFromURL(ctx, source, nil); err != nil {
		return 0, fmt.Errorf("start the copy: %w", scrubSAS(err, source))
	}
	var size int64
	poll := c.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	err := wait.PollUntilContextCancel(ctx, poll, true, func(ctx context.Context) (bool, error) {
		p, err := pb.GetProperties(ctx, nil)
		if err != nil {
			return false, err
		}
		if done, total, ok := copyProgress(deref(p.CopyProgress)); ok && c.Progress != nil {
			c.Progress(done, total)
		}
		switch st := deref(p.CopyStatus); st {
		case blob.CopyStatusTypeSuccess:
			size = deref(p.ContentLength)
			return true, nil
		case blob.CopyStatusTypePending:
			return false, nil
		default:
			return false, fmt.Errorf("the copy is %s: %s", st, deref(p.CopyStatusDescription))
		}
	})
	return size, err
}

// Delete implements PageBlobs.
func (c ContainerBlobs) Delete(ctx context.Context, name string) error {
	_, err := c.Container.NewPageBlobClient(name).Delete(ctx, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return fmt.Errorf("delete %s: %w", c.URL(name), err)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// scrubSAS keeps a SAS out of an error: azblob errors may quote the
// request, whose header holds the copy source.
func scrubSAS(err error, sas string) error {
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), sas, "<source SAS>"))
}

// copyProgress parses a blob's x-ms-copy-progress, "<bytes copied>/<total>".
func copyProgress(s string) (done, total int64, ok bool) {
	a, b, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	d, err1 := strconv.ParseInt(a, 10, 64)
	t, err2 := strconv.ParseInt(b, 10, 64)
	return d, t, err1 == nil && err2 == nil
}
