package localarm_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/snapflow/snapflow/tests/localarm"
)

// azuriteAccounts reads the Azurite the test may use: LOCALARM_AZURITE
// is its endpoint (http://127.0.0.1:PORT) and LOCALARM_AZURITE_ACCOUNTS its
// accounts in Azurite's AZURITE_ACCOUNTS form, "eastus:KEY;westus:KEY",
// as the local cluster (tests/cluster) starts it. It must run with
// --skipApiVersionCheck.
func azuriteAccounts(t *testing.T) map[string]localarm.StorageAccount {
	endpoint, list := os.Getenv("LOCALARM_AZURITE"), os.Getenv("LOCALARM_AZURITE_ACCOUNTS")
	if endpoint == "" || list == "" {
		t.Skip("set LOCALARM_AZURITE and LOCALARM_AZURITE_ACCOUNTS to run against Azurite")
	}
	accts := map[string]localarm.StorageAccount{}
	for _, a := range strings.Split(list, ";") {
		name, k, ok := strings.Cut(a, ":")
		if !ok {
			t.Fatalf("LOCALARM_AZURITE_ACCOUNTS entry %q is not name:key", a)
		}
		accts[name] = localarm.StorageAccount{Name: name, Key: k, Endpoint: strings.TrimRight(endpoint, "/") + "/" + name}
	}
	for _, r := range []string{"eastus", "westus"} {
		if _, ok := accts[r]; !ok {
			t.Fatalf("LOCALARM_AZURITE_ACCOUNTS has no %s account", r)
		}
	}
	return accts
}

// TestAzuriteVHDPath is the VHD path on real Azurite (the notes' steps):
// grant access to an eastus snapshot, StartCopyFromURL its SAS into a page
// blob of the westus account, import that as a westus snapshot, revoke.
func TestAzuriteVHDPath(t *testing.T) {
	accts := azuriteAccounts(t)
	opt := options(nil)
	opt.StorageAccounts = accts
	opt.Blobs = &localarm.AzuriteBlobs{}
	e := newEnv(t, opt)
	ctx := t.Context()

	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	data := pattern(2*localarm.BlockSize+4096, 5)
	if err := e.srv.WriteDisk(*disk.ID, 7*localarm.BlockSize, data); err != nil {
		t.Fatal(err)
	}
	e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	sas := e.grant(t, rgEast, "snap-1")

	west := accts["westus"]
	cred, err := blob.NewSharedKeyCredential(west.Name, west.Key)
	if err != nil {
		t.Fatal(err)
	}
	cname := "vhds-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	cc, err := container.NewClientWithSharedKeyCredential(west.Endpoint+"/"+cname, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cc.Delete(ctx, nil) })
	dst, err := pageblob.NewClientWithSharedKeyCredential(west.Endpoint+"/"+cname+"/snap-1.vhd", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.StartCopyFromURL(ctx, sas, nil); err != nil {
		t.Fatalf("StartCopyFromURL from the SAS: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		props, err := dst.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st := props.CopyStatus; st != nil && *st == blob.CopyStatusTypeSuccess {
			break
		} else if st != nil && *st != blob.CopyStatusTypePending || time.Now().After(deadline) {
			t.Fatalf("copy status %v", st)
		}
	}

	got, err := e.putSnapshot(ctx, rgWest, "snap-1-dr", armcompute.Snapshot{
		Location: to.Ptr("westus"),
		Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionImport),
			SourceURI:    to.Ptr(dst.URL()), StorageAccountID: to.Ptr(storageAccountID("westus")),
		}},
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	back, err := e.srv.ReadData(*got.ID, 7*localarm.BlockSize, len(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) || *got.Properties.DiskSizeBytes != 1<<30 {
		t.Errorf("imported %d bytes; data equal: %v", *got.Properties.DiskSizeBytes, bytes.Equal(back, data))
	}

	e.revoke(t, rgEast, "snap-1")
	if n := e.srv.ActiveSAS(); n != 0 {
		t.Errorf("ActiveSAS after revoke = %d", n)
	}
	anon, err := pageblob.NewClientWithNoCredential(sas, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Errorf("the SAS after revoke: %v, want BlobNotFound", err)
	}
}
