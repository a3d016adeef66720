package azuredisk

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
)

// PageBlobs are page blobs in a storage account of the DR region: where a
// VHD copy stages a snapshot's data.
type PageBlobs interface {
	// URL is blob name's URL, without credentials.
	URL(name string) string
	// CopyFromURL copies the blob at source (a SAS URL) into blob name,
	// waiting until the copy is done, and returns its size.
	CopyFromURL(ctx context.Context, name, source string) (int64, error)
	// Delete deletes blob name; one already gone is deleted.
	Delete(ctx context.Context, name string) error
}

// VHD is a copy of a snapshot through a page blob: read access to the
// source, its VHD copied into Blobs, a snapshot imported from the blob.
type VHD struct {
	Copier
	// Source reads and grants access to the source snapshot (its
	// subscription's client).
	Source *armcompute.SnapshotsClient
	Blobs  PageBlobs
	// StorageAccountID is the ARM ID of Blobs' storage account, which an
	// import names.
	StorageAccountID string
	// Hold registers a release before it is needed: "revoke" for the
	// source's access, "blob" for the staged blob. Both are also released
	// here once the import is done.
	Hold func(ctx context.Context, what string) error
}

// Copy copies snapshot sourceID to t as a full snapshot. A t already made
// from this blob (by a run that resumed) is adopted.
func (v VHD) Copy(ctx context.Context, sourceID string, t Target) (Copy, error) {
	blob := t.Name + ".vhd"
	if snap, err := v.adoptImport(ctx, t, v.Blobs.URL(blob)); err != nil || snap != nil {
		if err != nil {
			return Copy{}, err
		}
		return Copy{SourceID: sourceID, ID: str(snap.ID), Method: MethodVHD, Bytes: bytesOf(snap)}, v.release(ctx, sourceID, blob)
	}
	src, err := ParseSnapshotID(sourceID)
	if err != nil {
		return Copy{}, err
	}
	if err := v.Hold(ctx, "revoke"); err != nil {
		return Copy{}, err
	}
	grant, err := v.Source.BeginGrantAccess(ctx, src.ResourceGroupName, src.Name, armcompute.GrantAccessData{
		Access: to.Ptr(armcompute.AccessLevelRead), DurationInSeconds: to.Ptr[int32](int32((6 * time.Hour).Seconds())),
	}, nil)
	if err != nil {
		return Copy{}, fmt.Errorf("grant read access to %s: %w", sourceID, err)
	}
	access, err := grant.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: v.poll()})
	if err != nil || access.AccessSAS == nil {
		return Copy{}, fmt.Errorf("grant read access to %s: %w", sourceID, err)
	}
	if err := v.Hold(ctx, "blob"); err != nil {
		return Copy{}, err
	}
	if _, err := v.Blobs.CopyFromURL(ctx, blob, *access.AccessSAS); err != nil {
		return Copy{}, fmt.Errorf("copy the VHD of %s to %s: %w", sourceID, v.Blobs.URL(blob), err)
	}
	snap, err := v.importBlob(ctx, t, v.Blobs.URL(blob))
	if err != nil {
		return Copy{}, err
	}
	return Copy{SourceID: sourceID, ID: str(snap.ID), Method: MethodVHD, Bytes: bytesOf(snap)}, v.release(ctx, sourceID, blob)
}

// adoptImport returns t when it exists, imported from blobURL.
func (v VHD) adoptImport(ctx context.Context, t Target, blobURL string) (*armcompute.Snapshot, error) {
	got, err := v.Snapshots.Get(ctx, t.ResourceGroup, t.Name, nil)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", t.ID(), err)
	}
	cd := got.Properties.CreationData
	if cd == nil || str(cd.SourceURI) != blobURL {
		return nil, fmt.Errorf("%w: snapshot %s is not imported from %s", ErrNotOurs, t.ID(), blobURL)
	}
	return v.awaitProvisioned(ctx, t)
}

func (v VHD) importBlob(ctx context.Context, t Target, blobURL string) (*armcompute.Snapshot, error) {
	p, err := v.Snapshots.BeginCreateOrUpdate(ctx, t.ResourceGroup, t.Name, armcompute.Snapshot{
		Location: to.Ptr(t.Region),
		Properties: &armcompute.SnapshotProperties{CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionImport), SourceURI: to.Ptr(blobURL), StorageAccountID: to.Ptr(v.StorageAccountID),
		}},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("import %s as %s: %w", blobURL, t.ID(), err)
	}
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: v.poll()})
	if err != nil {
		return nil, fmt.Errorf("import %s as %s: %w", blobURL, t.ID(), err)
	}
	return &res.Snapshot, nil
}

// awaitProvisioned waits until an adopted import's LRO is done.
func (v VHD) awaitProvisioned(ctx context.Context, t Target) (*armcompute.Snapshot, error) {
	return v.awaitData(ctx, t, nil)
}

// release revokes the source's access and deletes the staged blob.
func (v VHD) release(ctx context.Context, sourceID, blob string) error {
	if err := Revoke(ctx, v.Source, sourceID, v.poll()); err != nil {
		return err
	}
	return v.Blobs.Delete(ctx, blob)
}

// Revoke ends the read access granted to snapshot id; none granted is
// fine.
func Revoke(ctx context.Context, client *armcompute.SnapshotsClient, id string, poll time.Duration) error {
	r, err := ParseSnapshotID(id)
	if err != nil {
		return err
	}
	p, err := client.BeginRevokeAccess(ctx, r.ResourceGroupName, r.Name, nil)
	if notFound(err) {
		return nil
	}
	if err == nil {
		_, err = p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: poll})
	}
	if err != nil && !notFound(err) {
		return fmt.Errorf("revoke access to %s: %w", id, err)
	}
	return nil
}
