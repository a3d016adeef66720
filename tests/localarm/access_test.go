package localarm_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/tests/localarm"
)

func (e *env) grant(t *testing.T, rg, name string) string {
	t.Helper()
	p, err := e.snaps.BeginGrantAccess(t.Context(), rg, name, armcompute.GrantAccessData{
		Access: to.Ptr(armcompute.AccessLevelRead), DurationInSeconds: to.Ptr[int32](3600),
	}, nil)
	if err != nil {
		t.Fatalf("grant access to %s: %v", name, err)
	}
	res, err := p.PollUntilDone(t.Context(), poll)
	if err != nil {
		t.Fatalf("grant access to %s: %v", name, err)
	}
	if res.AccessSAS == nil || *res.AccessSAS == "" {
		t.Fatalf("grant access to %s: no accessSAS", name)
	}
	return *res.AccessSAS
}

func (e *env) revoke(t *testing.T, rg, name string) {
	t.Helper()
	p, err := e.snaps.BeginRevokeAccess(t.Context(), rg, name, nil)
	if err != nil {
		t.Fatalf("revoke access to %s: %v", name, err)
	}
	if _, err := p.PollUntilDone(t.Context(), poll); err != nil {
		t.Fatalf("revoke access to %s: %v", name, err)
	}
}

func (e *env) diskState(t *testing.T, rg, name string) armcompute.DiskState {
	t.Helper()
	got, err := e.snaps.Get(t.Context(), rg, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return *got.Properties.DiskState
}

// TestGrantAndRevokeAccess grants read access to a snapshot: the SAS names
// a fixed VHD page blob in the region's storage account, diskState is
// ActiveSAS and the snapshot cannot be deleted until access is revoked,
// which deletes the blob.
func TestGrantAndRevokeAccess(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	data := pattern(2*localarm.BlockSize, 3)
	if err := e.srv.WriteDisk(*disk.ID, localarm.BlockSize, data); err != nil {
		t.Fatal(err)
	}
	e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)

	sas := e.grant(t, rgEast, "snap-1")
	if !strings.HasPrefix(sas, "http://blobs.localarm.test/eastus/"+localarm.AccessContainer+"/") || !strings.Contains(sas, "sig=") {
		t.Errorf("SAS %s: want a signed URL in eastus's %s container", sas, localarm.AccessContainer)
	}
	if got := e.srv.ActiveSAS(); got != 1 {
		t.Errorf("ActiveSAS = %d, want 1", got)
	}
	if got := e.diskState(t, rgEast, "snap-1"); got != armcompute.DiskStateActiveSAS {
		t.Errorf("diskState = %s, want ActiveSAS", got)
	}
	if again := e.grant(t, rgEast, "snap-1"); again != sas || e.srv.ActiveSAS() != 1 {
		t.Errorf("a second grant gave %s (ActiveSAS %d), want the open SAS %s", again, e.srv.ActiveSAS(), sas)
	}
	vhd, ok := e.blobs.Blob(sas)
	if !ok {
		t.Fatal("no blob at the SAS URL")
	}
	if vhd.Size != 1<<30+512 {
		t.Errorf("VHD size %d, want 1 GiB and a 512-byte footer", vhd.Size)
	}
	if got := vhd.ReadAt(localarm.BlockSize, len(data)); !bytes.Equal(got, data) {
		t.Error("the VHD does not hold the snapshot's data")
	}
	if got := string(vhd.ReadAt(vhd.Size-512, 8)); got != "conectix" {
		t.Errorf("footer cookie %q, want conectix", got)
	}

	_, err := e.snaps.BeginDelete(t.Context(), rgEast, "snap-1", nil)
	if status, code := errorCode(t, err); status != http.StatusConflict || code != "OperationNotAllowed" {
		t.Errorf("delete with an active SAS: %d %s, want 409 OperationNotAllowed", status, code)
	}

	e.revoke(t, rgEast, "snap-1")
	if got := e.srv.ActiveSAS(); got != 0 {
		t.Errorf("ActiveSAS after revoke = %d, want 0", got)
	}
	if got := e.diskState(t, rgEast, "snap-1"); got != armcompute.DiskStateUnattached {
		t.Errorf("diskState after revoke = %s, want Unattached", got)
	}
	if err := e.blobs.CopyFromURL(sas, "http://blobs.localarm.test/westus/vhds/x.vhd"); err == nil {
		t.Error("the SAS still works after revoke")
	}
}

// TestImportFromPageBlob is the VHD path across regions with MemBlobs:
// grant access in eastus, copy the blob into westus's account (what a
// client's StartCopyFromURL does), import it there as a snapshot.
func TestImportFromPageBlob(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	data := pattern(3*localarm.BlockSize, 4)
	if err := e.srv.WriteDisk(*disk.ID, 10*localarm.BlockSize, data); err != nil {
		t.Fatal(err)
	}
	e.snapshot(t, rgEast, "full-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	sas := e.grant(t, rgEast, "full-1")
	dst := "http://blobs.localarm.test/westus/vhds/full-1.vhd"
	if err := e.blobs.CopyFromURL(sas, dst); err != nil {
		t.Fatal(err)
	}
	e.revoke(t, rgEast, "full-1")

	imp := func(name, uri, account string) (armcompute.Snapshot, error) {
		return e.putSnapshot(t.Context(), rgWest, name, armcompute.Snapshot{
			Location: to.Ptr("westus"),
			Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{
				CreateOption: to.Ptr(armcompute.DiskCreateOptionImport),
				SourceURI:    to.Ptr(uri), StorageAccountID: to.Ptr(storageAccountID(account)),
			}},
		})
	}
	got, err := imp("full-1-dr", dst, "westus")
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Properties; *p.DiskSizeBytes != 1<<30 || *p.CreationData.SourceURI != dst || *p.CreationData.CreateOption != armcompute.DiskCreateOptionImport {
		t.Errorf("imported: diskSizeBytes %d, sourceUri %s, createOption %s", *p.DiskSizeBytes, *p.CreationData.SourceURI, *p.CreationData.CreateOption)
	}
	back, err := e.srv.ReadData(*got.ID, 10*localarm.BlockSize, len(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) {
		t.Error("the imported snapshot does not hold the data")
	}

	notVHD := "http://blobs.localarm.test/westus/vhds/raw.img"
	e.blobs.Put(notVHD, localarm.PageBlob{Size: localarm.BlockSize, Pages: map[int64][]byte{0: data[:512]}})
	tests := []struct {
		name, uri, account string
		wantCode           string
	}{
		{"not a VHD", notVHD, "westus", "InvalidParameter"},
		{"missing blob", "http://blobs.localarm.test/westus/vhds/nope.vhd", "westus", "InvalidParameter"},
		{"account in another region", "http://blobs.localarm.test/eastus/vhds/x.vhd", "eastus", "InvalidParameter"},
		{"blob outside the account", "http://elsewhere.localarm.test/westus/vhds/full-1.vhd", "westus", "InvalidParameter"},
		{"unknown account", dst, "nope", "ResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imp("bad", tc.uri, tc.account)
			if _, code := errorCode(t, err); code != tc.wantCode {
				t.Errorf("got %s, want %s (%v)", code, tc.wantCode, err)
			}
		})
	}
}
