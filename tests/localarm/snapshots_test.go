package localarm_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/tests/localarm"
)

// snapshotView is what a test compares of a snapshot GET.
type snapshotView struct {
	ID, Name, Type, Location       string
	ProvisioningState, DiskState   string
	Incremental                    bool
	DiskSizeGB                     int32
	DiskSizeBytes                  int64
	CreateOption, SourceResourceID string
	SourceUniqueID                 string
}

func viewSnapshot(s armcompute.Snapshot) snapshotView {
	p, cd := s.Properties, s.Properties.CreationData
	return snapshotView{
		ID: *s.ID, Name: *s.Name, Type: *s.Type, Location: *s.Location,
		ProvisioningState: *p.ProvisioningState, DiskState: string(*p.DiskState),
		Incremental: *p.Incremental, DiskSizeGB: *p.DiskSizeGB, DiskSizeBytes: *p.DiskSizeBytes,
		CreateOption: string(*cd.CreateOption), SourceResourceID: *cd.SourceResourceID, SourceUniqueID: *cd.SourceUniqueID,
	}
}

// TestSnapshotDiskAndRestore is the Azure Disk CSI driver's path within a
// region: an empty disk, written to, snapshotted (incremental, Copy), and
// a new disk restored from the snapshot.
func TestSnapshotDiskAndRestore(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	data := pattern(3*localarm.BlockSize+100, 1)
	if err := e.srv.WriteDisk(*disk.ID, 5*localarm.BlockSize+7, data); err != nil {
		t.Fatal(err)
	}
	e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)

	got, err := e.snaps.Get(t.Context(), rgEast, "SNAP-1", nil) // IDs are case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	want := snapshotView{
		ID: groupID(rgEast) + "/providers/Microsoft.Compute/snapshots/snap-1", Name: "snap-1",
		Type: "Microsoft.Compute/snapshots", Location: "eastus",
		ProvisioningState: "Succeeded", DiskState: "Unattached", Incremental: true,
		DiskSizeGB: 1, DiskSizeBytes: 1 << 30,
		CreateOption: "Copy", SourceResourceID: *disk.ID, SourceUniqueID: *disk.Properties.UniqueID,
	}
	if diff := cmp.Diff(viewSnapshot(got.Snapshot), want); diff != "" {
		t.Errorf("snapshot (-got +want):\n%s", diff)
	}
	p := got.Properties
	if p.UniqueID == nil || *p.UniqueID == "" || p.TimeCreated == nil || p.TimeCreated.IsZero() ||
		p.IncrementalSnapshotFamilyID == nil || *p.IncrementalSnapshotFamilyID == "" {
		t.Errorf("uniqueId %v, timeCreated %v, incrementalSnapshotFamilyId %v: want all set", p.UniqueID, p.TimeCreated, p.IncrementalSnapshotFamilyID)
	}
	if p.CompletionPercent != nil {
		t.Errorf("completionPercent = %v, want none outside CopyStart", *p.CompletionPercent)
	}

	second := e.snapshot(t, rgEast, "snap-2", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	if a, b := *p.IncrementalSnapshotFamilyID, *second.Properties.IncrementalSnapshotFamilyID; a != b {
		t.Errorf("incrementalSnapshotFamilyId %s then %s: want one family per disk", a, b)
	}

	var names []string
	for pager := e.snaps.NewListByResourceGroupPager(rgEast, nil); pager.More(); {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			names = append(names, *s.Name)
		}
	}
	if diff := cmp.Diff(names, []string{"snap-1", "snap-2"}); diff != "" {
		t.Errorf("list (-got +want):\n%s", diff)
	}

	restored, err := e.putDisk(t.Context(), rgEast, "restored-1", armcompute.Disk{
		Location: to.Ptr("eastus"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: got.ID,
		}},
	})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if *restored.Properties.DiskSizeGB != 1 || *restored.Type != "Microsoft.Compute/disks" {
		t.Errorf("restored disk: diskSizeGB %d, type %s", *restored.Properties.DiskSizeGB, *restored.Type)
	}
	back, err := e.srv.ReadData(*restored.ID, 5*localarm.BlockSize+7, len(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) {
		t.Error("the restored disk does not hold the snapshot's data")
	}
}

// TestCreateErrors checks what a PUT refuses, with the real SDK.
func TestCreateErrors(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	full, err := e.putSnapshot(t.Context(), rgEast, "full-1", snapshotSpec("eastus", armcompute.DiskCreateOptionCopy, *disk.ID, false))
	if err != nil {
		t.Fatal(err)
	}
	missing := groupID(rgEast) + "/providers/Microsoft.Compute/disks/nope"
	tests := []struct {
		name       string
		rg, snap   string
		spec       armcompute.Snapshot
		wantStatus int
		wantCode   string
	}{
		{"missing resource group", "rg-nope", "s", snapshotSpec("eastus", armcompute.DiskCreateOptionCopy, *disk.ID, true),
			http.StatusNotFound, "ResourceGroupNotFound"},
		{"missing source", rgEast, "s", snapshotSpec("eastus", armcompute.DiskCreateOptionCopy, missing, true),
			http.StatusNotFound, "ResourceNotFound"},
		{"copy across regions", rgWest, "s", snapshotSpec("westus", armcompute.DiskCreateOptionCopy, *disk.ID, true),
			http.StatusBadRequest, "InvalidParameter"},
		{"empty snapshot", rgEast, "s", snapshotSpec("eastus", armcompute.DiskCreateOptionEmpty, "", true),
			http.StatusBadRequest, "InvalidParameter"},
		{"unknown region", rgEast, "s", snapshotSpec("mars", armcompute.DiskCreateOptionCopy, *disk.ID, true),
			http.StatusBadRequest, "LocationNotAvailableForResourceType"},
		{"bad name", rgEast, "-s", snapshotSpec("eastus", armcompute.DiskCreateOptionCopy, *disk.ID, true),
			http.StatusBadRequest, "InvalidResourceName"},
		{"CopyStart from a full snapshot", rgWest, "s", snapshotSpec("westus", armcompute.DiskCreateOptionCopyStart, *full.ID, true),
			http.StatusBadRequest, "BadRequest"},
		{"CopyStart from a disk", rgWest, "s", snapshotSpec("westus", armcompute.DiskCreateOptionCopyStart, *disk.ID, true),
			http.StatusBadRequest, "BadRequest"},
		{"changed creationData", rgEast, "full-1", snapshotSpec("eastus", armcompute.DiskCreateOptionCopy, *full.ID, false),
			http.StatusConflict, "PropertyChangeNotAllowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.snaps.BeginCreateOrUpdate(t.Context(), tc.rg, tc.snap, tc.spec, nil)
			if err == nil {
				t.Fatal("BeginCreateOrUpdate succeeded, want an error")
			}
			status, code := errorCode(t, err)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Errorf("got %d %s, want %d %s (%v)", status, code, tc.wantStatus, tc.wantCode, err)
			}
		})
	}
}

// TestPutAgainAdopts checks that repeating a PUT, as a retried step does,
// adopts the resource rather than failing or changing it.
func TestPutAgainAdopts(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	first := e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	again := e.snapshot(t, rgEast, "Snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	if *again.Properties.UniqueID != *first.Properties.UniqueID || *again.Name != "snap-1" {
		t.Errorf("second PUT gave %s (%s), want the first snapshot %s (%s)",
			*again.Name, *again.Properties.UniqueID, *first.Name, *first.Properties.UniqueID)
	}
}

// TestGetAndDeleteMissing checks ARM's answers for what does not exist.
func TestGetAndDeleteMissing(t *testing.T) {
	e := newEnv(t, options(nil))
	_, err := e.snaps.Get(t.Context(), rgEast, "nope", nil)
	if status, code := errorCode(t, err); status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("get: %d %s, want 404 ResourceNotFound", status, code)
	}
	_, err = e.snaps.Get(t.Context(), "rg-nope", "nope", nil)
	if status, code := errorCode(t, err); status != http.StatusNotFound || code != "ResourceGroupNotFound" {
		t.Errorf("get in a missing group: %d %s, want 404 ResourceGroupNotFound", status, code)
	}
	p, err := e.snaps.BeginDelete(t.Context(), rgEast, "nope", nil)
	if err == nil {
		_, err = p.PollUntilDone(t.Context(), poll)
	}
	if err != nil {
		t.Errorf("delete of a missing snapshot: %v, want success (204)", err)
	}
}

// TestDeleteSnapshot deletes through the LRO and checks it is gone.
func TestDeleteSnapshot(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	p, err := e.snaps.BeginDelete(t.Context(), rgEast, "snap-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(t.Context(), poll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.snaps.Get(t.Context(), rgEast, "snap-1", nil); err == nil {
		t.Error("the snapshot is still there after delete")
	}
}
