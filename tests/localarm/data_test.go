package localarm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/tests/localarm"
)

func readAll(t *testing.T, c *localarm.DataClient, id string, off, n int64) ([]byte, error) {
	t.Helper()
	rc, err := c.Read(t.Context(), id, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func wantDataError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var de *localarm.DataError
	if !errors.As(err, &de) || de.StatusCode != status || de.Code != code {
		t.Errorf("error %v, want %d %s", err, status, code)
	}
}

// Data written over HTTP, unaligned and across blocks, is what WriteDisk
// would have written; a snapshot of the disk reads the same.
func TestDataEndpointWriteReadLocalARM(t *testing.T) {
	e := newEnv(t, options(nil))
	c := &localarm.DataClient{Base: e.url}
	disk := *e.createDisk(t, rgEast, "d1", "eastus", 1).ID
	data := pattern(3*localarm.BlockSize+100, 3)
	off := int64(localarm.BlockSize/2 + 7)
	if err := c.Write(t.Context(), disk, off, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.srv.ReadData(disk, off, len(data)); !bytes.Equal(got, data) {
		t.Fatal("ReadData differs from what was written over HTTP")
	}
	got, err := readAll(t, c, disk, off-10, int64(len(data))+20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[10:len(got)-10], data) || !bytes.Equal(got[:10], make([]byte, 10)) {
		t.Error("Read differs from what was written")
	}
	snap := *e.snapshot(t, rgEast, "s1", "eastus", armcompute.DiskCreateOptionCopy, disk).ID
	if got, err := readAll(t, c, snap, off, int64(len(data))); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the snapshot's data differs (%v)", err)
	}
	// A whole 1 GiB disk streams; only what was written is not zero.
	rc, err := c.Read(t.Context(), disk, 0, localarm.GiB)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	_ = rc.Close()
	if err != nil || n != localarm.GiB {
		t.Errorf("read of the whole disk: %d bytes, %v", n, err)
	}
	err = c.Write(t.Context(), snap, 0, strings.NewReader("x"), 1)
	wantDataError(t, err, http.StatusBadRequest, "BadRequest")
}

func TestDataEndpointRefusalsLocalARM(t *testing.T) {
	e := newEnv(t, options(nil))
	c := &localarm.DataClient{Base: e.url}
	disk := *e.createDisk(t, rgEast, "d1", "eastus", 1).ID
	_, err := c.Read(t.Context(), disk, localarm.GiB-1, 2)
	wantDataError(t, err, http.StatusBadRequest, "InvalidParameter")
	err = c.Write(t.Context(), disk, localarm.GiB-1, strings.NewReader("xy"), 2)
	wantDataError(t, err, http.StatusBadRequest, "InvalidParameter")
	_, err = c.Read(t.Context(), groupID(rgEast)+"/providers/Microsoft.Compute/disks/nope", 0, 1)
	wantDataError(t, err, http.StatusNotFound, "ResourceNotFound")
	_, err = c.Read(t.Context(), "not-an-id", 0, 1)
	wantDataError(t, err, http.StatusBadRequest, "InvalidParameter")
	if err := c.Write(t.Context(), disk, 0, strings.NewReader("short"), 10); err == nil {
		t.Error("a body shorter than its length was accepted")
	}
}

// A CopyStart copy's data cannot be read until the copy finishes.
func TestDataEndpointUnfinishedCopyLocalARM(t *testing.T) {
	e := newEnv(t, options(nil))
	c := &localarm.DataClient{Base: e.url}
	disk := *e.createDisk(t, rgEast, "d1", "eastus", 1).ID
	snap := *e.snapshot(t, rgEast, "s1", "eastus", armcompute.DiskCreateOptionCopy, disk).ID
	cp := *e.snapshot(t, rgWest, "c1", "westus", armcompute.DiskCreateOptionCopyStart, snap).ID
	_, err := c.Read(t.Context(), cp, 0, 1)
	wantDataError(t, err, http.StatusConflict, "OperationNotAllowed")
	e.waitCopied(t, rgWest, "c1")
	if _, err := readAll(t, c, cp, 0, 1); err != nil {
		t.Error(err)
	}
}

// With a token required, the endpoint wants it as ARM does.
func TestDataEndpointTokenLocalARM(t *testing.T) {
	opt := options(nil)
	opt.RequireToken = "fake_token" // what azfake.TokenCredential gives newEnv's clients
	e := newEnv(t, opt)
	disk := *e.createDisk(t, rgEast, "d1", "eastus", 1).ID
	_, err := (&localarm.DataClient{Base: e.url}).Read(t.Context(), disk, 0, 1)
	wantDataError(t, err, http.StatusUnauthorized, "AuthenticationFailed")
	bad := &localarm.DataClient{Base: e.url, Token: func(context.Context) (string, error) { return "wrong", nil }}
	_, err = bad.Read(t.Context(), disk, 0, 1)
	wantDataError(t, err, http.StatusUnauthorized, "InvalidAuthenticationToken")
	good := &localarm.DataClient{Base: e.url, HTTP: &http.Client{}, Token: func(context.Context) (string, error) { return "fake_token", nil }}
	if err := good.Write(t.Context(), disk, 0, strings.NewReader("ok"), 2); err != nil {
		t.Fatal(err)
	}
	if got, err := e.srv.ReadData(disk, 0, 2); err != nil || string(got) != "ok" {
		t.Errorf("ReadData = %q, %v", got, err)
	}
}
