package localarm_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"

	"github.com/snapflow/snapflow/tests/localarm"
)

const (
	sub    = "9f2d5d6e-0000-4000-8000-000000000001"
	rgEast = "rg-east"
	rgWest = "rg-west"
	// accountKey is a valid base64 shared key; MemBlobs never checks it.
	accountKey = "bG9jYWxhcm0tdGVzdC1rZXk="
)

// poll makes PollUntilDone quick: the server sends no Retry-After.
var poll = &runtime.PollUntilDoneOptions{Frequency: 5 * time.Millisecond}

func groupID(rg string) string { return "/subscriptions/" + sub + "/resourceGroups/" + rg }

func storageAccountID(name string) string {
	return groupID(rgWest) + "/providers/Microsoft.Storage/storageAccounts/" + name
}

// options are two regions, a resource group in each and MemBlobs
// accounts named after the regions, as the local cluster's Azurite has.
func options(blobs localarm.BlobStore) localarm.Options {
	acct := func(name string) localarm.StorageAccount {
		return localarm.StorageAccount{Name: name, Key: accountKey, Endpoint: "http://blobs.localarm.test/" + name}
	}
	return localarm.Options{
		ResourceGroups: []localarm.ResourceGroup{
			{ID: groupID(rgEast), Location: "eastus"},
			{ID: groupID(rgWest), Location: "westus"},
		},
		StorageAccounts: map[string]localarm.StorageAccount{"eastus": acct("eastus"), "westus": acct("westus")},
		Blobs:           blobs,
	}
}

// env is a Server on httptest and the real SDK's clients pointed at it.
type env struct {
	srv   *localarm.Server
	url   string
	blobs *localarm.MemBlobs
	snaps *armcompute.SnapshotsClient
	disks *armcompute.DisksClient
}

// newEnv serves opt (with MemBlobs if opt.Blobs is nil) to clients using
// azfake.TokenCredential, whose token is "fake_token".
func newEnv(t *testing.T, opt localarm.Options) *env {
	t.Helper()
	e := &env{}
	if opt.Blobs == nil {
		e.blobs = localarm.NewMemBlobs()
		opt.Blobs = e.blobs
	}
	e.srv = localarm.New(opt)
	hs := httptest.NewServer(e.srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	e.snaps, e.disks = clients(t, hs.URL, &azfake.TokenCredential{}, nil)
	return e
}

// armOptions point the SDK at a local endpoint, as the notes verified.
func armOptions(endpoint string, transport policy.Transporter) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.core.windows.net/"},
			}},
			InsecureAllowCredentialWithHTTP: true,
			Transport:                       transport,
		},
		DisableRPRegistration: true,
	}
}

func clients(t *testing.T, endpoint string, cred azcore.TokenCredential, transport policy.Transporter) (*armcompute.SnapshotsClient, *armcompute.DisksClient) {
	t.Helper()
	snaps, err := armcompute.NewSnapshotsClient(sub, cred, armOptions(endpoint, transport))
	if err != nil {
		t.Fatal(err)
	}
	disks, err := armcompute.NewDisksClient(sub, cred, armOptions(endpoint, transport))
	if err != nil {
		t.Fatal(err)
	}
	return snaps, disks
}

func (e *env) createDisk(t *testing.T, rg, name, location string, gb int32) armcompute.Disk {
	t.Helper()
	d, err := e.putDisk(t.Context(), rg, name, armcompute.Disk{
		Location: to.Ptr(location),
		SKU:      &armcompute.DiskSKU{Name: to.Ptr(armcompute.DiskStorageAccountTypesPremiumLRS)},
		Properties: &armcompute.DiskProperties{
			DiskSizeGB:   to.Ptr(gb),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
		},
	})
	if err != nil {
		t.Fatalf("create disk %s: %v", name, err)
	}
	return d
}

func (e *env) putDisk(ctx context.Context, rg, name string, d armcompute.Disk) (armcompute.Disk, error) {
	p, err := e.disks.BeginCreateOrUpdate(ctx, rg, name, d, nil)
	if err != nil {
		return armcompute.Disk{}, err
	}
	res, err := p.PollUntilDone(ctx, poll)
	return res.Disk, err
}

func (e *env) putSnapshot(ctx context.Context, rg, name string, s armcompute.Snapshot) (armcompute.Snapshot, error) {
	p, err := e.snaps.BeginCreateOrUpdate(ctx, rg, name, s, nil)
	if err != nil {
		return armcompute.Snapshot{}, err
	}
	res, err := p.PollUntilDone(ctx, poll)
	return res.Snapshot, err
}

// snapshotSpec is a snapshot in location created with option from source.
func snapshotSpec(location string, option armcompute.DiskCreateOption, source string, incremental bool) armcompute.Snapshot {
	return armcompute.Snapshot{
		Location: to.Ptr(location),
		Properties: &armcompute.SnapshotProperties{
			Incremental: to.Ptr(incremental),
			CreationData: &armcompute.CreationData{
				CreateOption: to.Ptr(option), SourceResourceID: to.Ptr(source),
			},
		},
	}
}

func (e *env) snapshot(t *testing.T, rg, name, location string, option armcompute.DiskCreateOption, source string) armcompute.Snapshot {
	t.Helper()
	s, err := e.putSnapshot(t.Context(), rg, name, snapshotSpec(location, option, source, true))
	if err != nil {
		t.Fatalf("create snapshot %s: %v", name, err)
	}
	return s
}

// waitCopied GETs a CopyStart snapshot until its copy ends and returns the
// last GET and every completionPercent seen.
func (e *env) waitCopied(t *testing.T, rg, name string) (armcompute.Snapshot, []float32) {
	t.Helper()
	var seen []float32
	for range 100 {
		got, err := e.snaps.Get(t.Context(), rg, name, nil)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		p := got.Properties
		pct := float32(100) // nil is 100, as the Azure Disk CSI driver reads it
		if p.CompletionPercent != nil {
			pct = *p.CompletionPercent
		}
		seen = append(seen, pct)
		if pct >= 100 || p.CopyCompletionError != nil {
			return got.Snapshot, seen
		}
	}
	t.Fatalf("copy %s did not end: %v", name, seen)
	return armcompute.Snapshot{}, nil
}

// errorCode returns the status and ARM error code of an SDK error.
func errorCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not an *azcore.ResponseError", err, err)
	}
	return re.StatusCode, re.ErrorCode
}

// pattern is n bytes that differ per seed and per position.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7+i/localarm.BlockSize) ^ seed
	}
	return p
}
