//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopia/kopia/repo/blob"

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
)

// azbVerifyDoNotRecreate: a put with DoNotRecreate creates a missing blob
// and refuses, without writing, to replace an existing one.
func azbVerifyDoNotRecreate(ctx context.Context, t *testing.T, st blob.Storage) {
	id := blob.ID("dnr" + azbContainerName())
	if err := st.PutBlob(ctx, id, azbBytes("first"), blob.PutOptions{DoNotRecreate: true}); err != nil {
		t.Fatalf("first put: %v", err)
	}
	err := st.PutBlob(ctx, id, azbBytes("second"), blob.PutOptions{DoNotRecreate: true})
	if !errors.Is(err, blob.ErrBlobAlreadyExists) {
		t.Fatalf("second put: got %v, want ErrBlobAlreadyExists", err)
	}
	azbAssertGetBlob(ctx, t, st, id, []byte("first"))
	if err := st.DeleteBlob(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBlob(ctx, id, azbBytes("third"), blob.PutOptions{DoNotRecreate: true}); err != nil {
		t.Fatalf("put after delete: %v", err)
	}
	azbAssertGetBlob(ctx, t, st, id, []byte("third"))
}

// azbVerifyUnsupported: object lock and capacity are refused with kopia's
// sentinel errors, and nothing is written.
func azbVerifyUnsupported(ctx context.Context, t *testing.T, st blob.Storage) {
	id := blob.ID("locked" + azbContainerName())
	err := st.PutBlob(ctx, id, azbBytes("x"), blob.PutOptions{RetentionMode: blob.Compliance, RetentionPeriod: time.Hour})
	if !errors.Is(err, blob.ErrUnsupportedPutBlobOption) {
		t.Errorf("put with retention: got %v, want ErrUnsupportedPutBlobOption", err)
	}
	azbAssertGetBlobNotFound(ctx, t, st, id)
	if err := st.ExtendBlobRetention(ctx, id, blob.ExtendOptions{RetentionMode: blob.Governance, RetentionPeriod: time.Hour}); !errors.Is(err, blob.ErrUnsupportedObjectLock) {
		t.Errorf("extend retention: got %v, want ErrUnsupportedObjectLock", err)
	}
	if _, err := st.GetCapacity(ctx); !errors.Is(err, blob.ErrNotAVolume) {
		t.Errorf("capacity: got %v, want ErrNotAVolume", err)
	}
}

// azbVerifyPrefix: the prefix is in the Azure names, and a storage with
// another prefix on the same container sees none of the blobs.
func azbVerifyPrefix(ctx context.Context, t *testing.T, account, key string, opt azureblob.Options) {
	names := azbListNames(t, account, key, opt.Container)
	if len(names) == 0 {
		t.Fatal("container is empty")
	}
	for _, n := range names {
		if !strings.HasPrefix(n, opt.Prefix) {
			t.Errorf("blob %q lacks prefix %q", n, opt.Prefix)
		}
	}
	other := opt
	other.Prefix = "team-b/"
	st, err := azureblob.New(ctx, &other, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := blob.ListAllBlobs(ctx, st, ""); err != nil || len(got) != 0 {
		t.Errorf("team-b/ lists %v, %v; want nothing", got, err)
	}
	// The same ID under each prefix is a different blob.
	if err := st.PutBlob(ctx, "kopia.repository", azbBytes("team-b"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	mine, err := azureblob.New(ctx, &opt, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.PutBlob(ctx, "kopia.repository", azbBytes("team-a"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	azbAssertGetBlob(ctx, t, mine, "kopia.repository", []byte("team-a"))
	azbAssertGetBlob(ctx, t, st, "kopia.repository", []byte("team-b"))
	if got, err := blob.ListAllBlobs(ctx, st, ""); err != nil || len(got) != 1 {
		t.Errorf("team-b/ lists %v, %v; want its one blob", got, err)
	}
}

// --- snapshot data ---

// --- blob.Bytes and blob.OutputBuffer ---

// azbBytes is a blob.Bytes over a byte slice.
type azbBytes []byte

func (b azbBytes) Length() int                        { return len(b) }
func (b azbBytes) WriteTo(w io.Writer) (int64, error) { n, err := w.Write(b); return int64(n), err }
func (b azbBytes) Reader() io.ReadSeekCloser          { return azbReader{bytes.NewReader(b)} }

type azbReader struct{ *bytes.Reader }

func (azbReader) Close() error { return nil }

// azbBuffer is a blob.OutputBuffer.
type azbBuffer struct{ bytes.Buffer }

func (b *azbBuffer) Length() int { return b.Len() }

// azbVerifyBlobs checks the blob.Storage contract: absent blobs are
// ErrBlobNotFound; puts read back whole and in ranges; listing by prefix
// sees exactly what was put, with lengths; overwrite replaces; delete is
// idempotent.
func azbVerifyBlobs(ctx context.Context, t *testing.T, st blob.Storage) {
	var out azbBuffer
	if err := st.GetBlob(ctx, "nothing", 0, -1, &out); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("get of a missing blob: %v, want ErrBlobNotFound", err)
	}
	if _, err := st.GetMetadata(ctx, "nothing"); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("metadata of a missing blob: %v, want ErrBlobNotFound", err)
	}
	want := map[blob.ID]string{"pa1": "first", "pa2": strings.Repeat("0123456789", 1000), "pb1": ""}
	for id, data := range want {
		if err := st.PutBlob(ctx, id, azbBytes(data), blob.PutOptions{}); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
	}
	for id, data := range want {
		out.Reset()
		if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || out.String() != data {
			t.Errorf("get %s: %d bytes, %v; want %d bytes", id, out.Len(), err, len(data))
		}
	}
	out.Reset()
	if err := st.GetBlob(ctx, "pa2", 5, 7, &out); err != nil || out.String() != "5678901" {
		t.Errorf("range read: %q, %v", out.String(), err)
	}
	listed := map[blob.ID]int64{}
	if err := st.ListBlobs(ctx, "pa", func(m blob.Metadata) error { listed[m.BlobID] = m.Length; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed["pa1"] != 5 || listed["pa2"] != 10000 {
		t.Errorf("list pa: %v, want pa1 (5) and pa2 (10000)", listed)
	}
	if err := st.PutBlob(ctx, "pa1", azbBytes("second"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := st.GetBlob(ctx, "pa1", 0, -1, &out); err != nil || out.String() != "second" {
		t.Errorf("after overwrite: %q, %v", out.String(), err)
	}
	for range 2 {
		if err := st.DeleteBlob(ctx, "pa1"); err != nil {
			t.Errorf("delete (twice is fine): %v", err)
		}
	}
	if _, err := st.GetMetadata(ctx, "pa1"); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("metadata after delete: %v, want ErrBlobNotFound", err)
	}
}

// azbVerifyReopen reopens the storage from its ConnectionInfo, as kopia
// does from a config file, and reads a blob through it.
func azbVerifyReopen(ctx context.Context, t *testing.T, st blob.Storage) {
	if err := st.PutBlob(ctx, "reopen", azbBytes("again"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := blob.NewStorage(ctx, st.ConnectionInfo(), false)
	if err != nil {
		t.Fatalf("reopen from ConnectionInfo: %v", err)
	}
	defer again.Close(ctx)
	var out azbBuffer
	if err := again.GetBlob(ctx, "reopen", 0, -1, &out); err != nil || out.String() != "again" {
		t.Errorf("read through the reopened storage: %q, %v", out.String(), err)
	}
}

// azbVerifyConcurrent puts and reads back blobs from several goroutines.
func azbVerifyConcurrent(ctx context.Context, t *testing.T, st blob.Storage) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := blob.ID(fmt.Sprintf("c%d-%d", w, i))
				data := strings.Repeat(string(id), 100)
				if err := st.PutBlob(ctx, id, azbBytes(data), blob.PutOptions{}); err != nil {
					errs <- err
					return
				}
				var out azbBuffer
				if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || out.String() != data {
					errs <- fmt.Errorf("read back %s: %d bytes, %w", id, out.Len(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// azbAssertGetBlob fails the test unless blob id holds want.
func azbAssertGetBlob(ctx context.Context, t *testing.T, st blob.Storage, id blob.ID, want []byte) {
	t.Helper()
	var out azbBuffer
	if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("blob %s: %q, %v; want %q", id, out.Bytes(), err, want)
	}
}

// azbAssertGetBlobNotFound fails the test unless blob id is absent.
func azbAssertGetBlobNotFound(ctx context.Context, t *testing.T, st blob.Storage, id blob.ID) {
	t.Helper()
	var out azbBuffer
	if err := st.GetBlob(ctx, id, 0, -1, &out); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("blob %s: %v, want ErrBlobNotFound", id, err)
	}
}
