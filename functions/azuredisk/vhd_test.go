package azuredisk_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/tests/localarm"
)

// memBlobs are PageBlobs over localarm's in-memory blob store: its
// CopyFromURL plays the server-side copy.
type memBlobs struct{ m *localarm.MemBlobs }

func (b memBlobs) URL(name string) string { return "http://blobs.local/westus/vhdcontainers/" + name }
func (b memBlobs) CopyFromURL(_ context.Context, name, src string) (int64, error) {
	if err := b.m.CopyFromURL(src, b.URL(name)); err != nil {
		return 0, err
	}
	pb, _ := b.m.Blob(b.URL(name))
	return pb.Size, nil
}
func (b memBlobs) Delete(ctx context.Context, name string) error {
	return b.m.DeleteBlob(ctx, westus, "vhdcontainers", name)
}

var westus = localarm.StorageAccount{Name: "westus", Endpoint: "http://blobs.local/westus"}

type token string

func (t token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestVHDCopyLocalARM copies a full snapshot (which CopyStart cannot
// take) through a page blob: the DR snapshot holds the data, and no
// access stays granted and no staged blob stays behind.
func TestVHDCopyLocalARM(t *testing.T) {
	mem := localarm.NewMemBlobs()
	srv := localarm.New(localarm.Options{
		ResourceGroups: []localarm.ResourceGroup{
			{ID: "/subscriptions/sub-1/resourceGroups/east", Location: "eastus"},
			{ID: "/subscriptions/sub-1/resourceGroups/dr", Location: "westus"},
		},
		StorageAccounts: map[string]localarm.StorageAccount{
			"eastus": {Name: "eastus", Endpoint: "http://blobs.local/eastus"},
			"westus": westus,
		},
		Blobs: mem,
	})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	cloud := function.AzureCloud{ResourceManager: hs.URL, Audience: "https://management.core.windows.net/", AllowHTTP: true}
	snaps, err := azuredisk.Snapshots(cloud, "sub-1", token("t"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	source := fullSnapshot(t, srv, snaps, hs.URL)

	v := azuredisk.VHD{
		Copier: azuredisk.Copier{Snapshots: snaps, Poll: time.Millisecond}, Source: snaps, Blobs: memBlobs{mem},
		StorageAccountID: "/subscriptions/sub-1/resourceGroups/dr/providers/Microsoft.Storage/storageAccounts/westus",
		Hold:             func(context.Context, string) error { return nil },
	}
	target := azuredisk.Target{Subscription: "sub-1", ResourceGroup: "dr", Region: "westus", Name: "data-dr"}
	cp, err := v.Copy(ctx, source, target)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Method != azuredisk.MethodVHD || cp.SourceID != source {
		t.Errorf("copy = %+v", cp)
	}
	got, err := srv.ReadData(cp.ID, 0, 4<<20)
	if err != nil || !bytes.Equal(got, pattern(4<<20)) {
		t.Errorf("the DR snapshot's data differs from the source's (%v)", err)
	}
	if n := srv.ActiveSAS(); n != 0 {
		t.Errorf("%d grants of access still open", n)
	}
	if _, ok := mem.Blob(memBlobs{mem}.URL("data-dr.vhd")); ok || mem.Len() != 0 {
		t.Errorf("%d blobs left, the staged VHD among them: %v", mem.Len(), ok)
	}
	// Resumed: the import is adopted, nothing copied again.
	again, err := v.Copy(ctx, source, target)
	if err != nil || again.ID != cp.ID {
		t.Errorf("a repeated copy gave %+v, %v; want %s adopted", again, err, cp.ID)
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// fullSnapshot makes a 1 GiB disk in eastus holding pattern(4 MiB) and a
// full (not incremental) snapshot of it, and returns the snapshot's ID.
func fullSnapshot(t *testing.T, srv *localarm.Server, snaps *armcompute.SnapshotsClient, endpoint string) string {
	t.Helper()
	ctx := t.Context()
	fast := &runtime.PollUntilDoneOptions{Frequency: time.Millisecond}
	disks, err := azuredisk.Disks(function.AzureCloud{ResourceManager: endpoint, Audience: "https://management.core.windows.net/", AllowHTTP: true}, "sub-1", token("t"))
	if err != nil {
		t.Fatal(err)
	}
	dp, err := disks.BeginCreateOrUpdate(ctx, "east", "data", armcompute.Disk{Location: to.Ptr("eastus"), Properties: &armcompute.DiskProperties{
		DiskSizeGB: to.Ptr[int32](1), CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := dp.PollUntilDone(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WriteDisk(*disk.ID, 0, pattern(4<<20)); err != nil {
		t.Fatal(err)
	}
	sp, err := snaps.BeginCreateOrUpdate(ctx, "east", "data-full", armcompute.Snapshot{Location: to.Ptr("eastus"), Properties: &armcompute.SnapshotProperties{
		Incremental: to.Ptr(false), CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: disk.ID},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sp.PollUntilDone(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := azuredisk.MethodFor(ctx, snaps, *s.ID); err != nil || m != azuredisk.MethodVHD {
		t.Fatalf("auto picks %q (%v) for a full snapshot, want vhd", m, err)
	}
	return *s.ID
}
