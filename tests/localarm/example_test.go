package localarm_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/tests/localarm"
)

// Example points armcompute at a local Resource Manager, snapshots a disk
// and copies the snapshot to another region with CopyStart, watching
// completionPercent as the Azure Disk CSI driver does.
func Example() {
	srv := localarm.New(localarm.Options{
		ResourceGroups: []localarm.ResourceGroup{{ID: "/subscriptions/sub-1/resourceGroups/rg", Location: "eastus"}},
		Regions:        []string{"westus"},
		Blobs:          localarm.NewMemBlobs(),
	})
	endpoint, err := srv.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	opts := &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.core.windows.net/"},
			}},
			InsecureAllowCredentialWithHTTP: true,
		},
		DisableRPRegistration: true,
	}
	disks, err := armcompute.NewDisksClient("sub-1", &azfake.TokenCredential{}, opts)
	if err != nil {
		log.Fatal(err)
	}
	snaps, err := armcompute.NewSnapshotsClient("sub-1", &azfake.TokenCredential{}, opts)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fast := &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

	dp, err := disks.BeginCreateOrUpdate(ctx, "rg", "data", armcompute.Disk{
		Location: to.Ptr("eastus"),
		Properties: &armcompute.DiskProperties{
			DiskSizeGB:   to.Ptr[int32](1),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
		},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	disk, err := dp.PollUntilDone(ctx, fast)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.WriteDisk(*disk.ID, 0, []byte("hello")); err != nil {
		log.Fatal(err)
	}

	snapshot := func(name, location string, option armcompute.DiskCreateOption, source *string) armcompute.Snapshot {
		p, err := snaps.BeginCreateOrUpdate(ctx, "rg", name, armcompute.Snapshot{
			Location: to.Ptr(location),
			Properties: &armcompute.SnapshotProperties{
				Incremental:  to.Ptr(true),
				CreationData: &armcompute.CreationData{CreateOption: to.Ptr(option), SourceResourceID: source},
			},
		}, nil)
		if err != nil {
			log.Fatal(err)
		}
		res, err := p.PollUntilDone(ctx, fast)
		if err != nil {
			log.Fatal(err)
		}
		return res.Snapshot
	}
	local := snapshot("data-snap", "eastus", armcompute.DiskCreateOptionCopy, disk.ID)
	dr := snapshot("data-snap-dr", "westus", armcompute.DiskCreateOptionCopyStart, local.ID)
	fmt.Println(*dr.Properties.ProvisioningState, *dr.Properties.CompletionPercent)

	for *dr.Properties.CompletionPercent < 100 {
		got, err := snaps.Get(ctx, "rg", "data-snap-dr", nil)
		if err != nil {
			log.Fatal(err)
		}
		dr = got.Snapshot
	}
	fmt.Println(*dr.Properties.CompletionPercent, srv.BytesCopied())
	// Output:
	// Succeeded 25
	// 100 1048576
}
