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

// TestCopyStartIncremental copies two incremental snapshots of a disk to
// another region: the first moves every written block, the second, after
// 1% of the data changed, only the changed block.
func TestCopyStartIncremental(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	const blocks = 100
	if err := e.srv.WriteDisk(*disk.ID, 0, pattern(blocks*localarm.BlockSize, 1)); err != nil {
		t.Fatal(err)
	}
	snap1 := e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)

	copy1 := e.snapshot(t, rgWest, "snap-1-dr", "westus", armcompute.DiskCreateOptionCopyStart, *snap1.ID)
	if got := *copy1.Properties.ProvisioningState; got != "Succeeded" {
		t.Errorf("after the LRO provisioningState = %s, want Succeeded", got)
	}
	// The LRO's final GET saw the first step; four GETs in all reach 100.
	if got := *copy1.Properties.CompletionPercent; got != 25 {
		t.Errorf("completionPercent after the LRO = %v, want 25", got)
	}
	final, seen := e.waitCopied(t, rgWest, "snap-1-dr")
	if diff := cmp.Diff(seen, []float32{50, 75, 100}); diff != "" {
		t.Errorf("completionPercent seen (-got +want):\n%s", diff)
	}
	if final.Properties.CopyCompletionError != nil {
		t.Errorf("copyCompletionError = %+v", *final.Properties.CopyCompletionError)
	}
	if a, b := *final.Properties.IncrementalSnapshotFamilyID, *snap1.Properties.IncrementalSnapshotFamilyID; a != b {
		t.Errorf("copy's family %s, source's %s: want the same", a, b)
	}
	if got, want := *final.Properties.CreationData.SourceUniqueID, *snap1.Properties.UniqueID; got != want {
		t.Errorf("copy's sourceUniqueId %s, want the source's uniqueId %s", got, want)
	}
	if got, base, _ := e.srv.CopyBytes(*copy1.ID); got != blocks*localarm.BlockSize || base != "" {
		t.Errorf("first copy moved %d bytes against %q, want %d against none", got, base, blocks*localarm.BlockSize)
	}

	// Change 1% of the data: one block of the hundred.
	changed := pattern(localarm.BlockSize, 2)
	if err := e.srv.WriteDisk(*disk.ID, 42*localarm.BlockSize, changed); err != nil {
		t.Fatal(err)
	}
	snap2 := e.snapshot(t, rgEast, "snap-2", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	copy2 := e.snapshot(t, rgWest, "snap-2-dr", "westus", armcompute.DiskCreateOptionCopyStart, *snap2.ID)
	e.waitCopied(t, rgWest, "snap-2-dr")
	if got, base, _ := e.srv.CopyBytes(*copy2.ID); got != localarm.BlockSize || base != *copy1.ID {
		t.Errorf("second copy moved %d bytes against %q, want %d (the changed block) against %s", got, base, localarm.BlockSize, *copy1.ID)
	}
	if got, want := e.srv.BytesCopied(), int64(blocks+1)*localarm.BlockSize; got != want {
		t.Errorf("BytesCopied = %d, want %d", got, want)
	}

	// The DR copy restores in the DR region and holds the second state.
	restored, err := e.putDisk(t.Context(), rgWest, "restored-dr", armcompute.Disk{
		Location: to.Ptr("westus"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: copy2.ID,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.srv.ReadData(*restored.ID, 42*localarm.BlockSize, localarm.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, changed) {
		t.Error("the disk restored from the second copy lacks the changed block")
	}
}

// TestCopyStartRules checks the documented limits: one copy of a disk at a
// time, in creation order, and no use of a copy before it ends.
func TestCopyStartRules(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	snap1 := e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	snap2 := e.snapshot(t, rgEast, "snap-2", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	e.snapshot(t, rgWest, "snap-2-dr", "westus", armcompute.DiskCreateOptionCopyStart, *snap2.ID) // at 25%

	_, err := e.putSnapshot(t.Context(), rgWest, "snap-1-dr", snapshotSpec("westus", armcompute.DiskCreateOptionCopyStart, *snap1.ID, true))
	if status, code := errorCode(t, err); status != http.StatusConflict || code != "OperationNotAllowed" {
		t.Errorf("a second copy of the disk while one runs: %d %s, want 409 OperationNotAllowed", status, code)
	}
	_, err = e.putDisk(t.Context(), rgWest, "early", armcompute.Disk{
		Location: to.Ptr("westus"),
		Properties: &armcompute.DiskProperties{CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: to.Ptr(groupID(rgWest) + "/providers/Microsoft.Compute/snapshots/snap-2-dr"),
		}},
	})
	if status, code := errorCode(t, err); status != http.StatusConflict || code != "OperationNotAllowed" {
		t.Errorf("a disk from an unfinished copy: %d %s, want 409 OperationNotAllowed", status, code)
	}

	e.waitCopied(t, rgWest, "snap-2-dr")
	_, err = e.putSnapshot(t.Context(), rgWest, "snap-1-dr", snapshotSpec("westus", armcompute.DiskCreateOptionCopyStart, *snap1.ID, true))
	if status, code := errorCode(t, err); status != http.StatusBadRequest || code != "BadRequest" {
		t.Errorf("copying an older snapshot after a newer one: %d %s, want 400 BadRequest", status, code)
	}
}

// TestCopySourceDeletedMidCopy deletes the source while the copy runs: the
// copy ends with copyCompletionError CopySourceNotFound.
func TestCopySourceDeletedMidCopy(t *testing.T) {
	e := newEnv(t, options(nil))
	disk := e.createDisk(t, rgEast, "data-1", "eastus", 1)
	snap := e.snapshot(t, rgEast, "snap-1", "eastus", armcompute.DiskCreateOptionCopy, *disk.ID)
	e.snapshot(t, rgWest, "snap-1-dr", "westus", armcompute.DiskCreateOptionCopyStart, *snap.ID) // at 25%

	p, err := e.snaps.BeginDelete(t.Context(), rgEast, "snap-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(t.Context(), poll); err != nil {
		t.Fatal(err)
	}
	final, seen := e.waitCopied(t, rgWest, "snap-1-dr")
	if diff := cmp.Diff(seen, []float32{25}); diff != "" {
		t.Errorf("completionPercent seen (-got +want):\n%s", diff)
	}
	ce := final.Properties.CopyCompletionError
	if ce == nil || *ce.ErrorCode != armcompute.CopyCompletionErrorReasonCopySourceNotFound || *ce.ErrorMessage == "" {
		t.Fatalf("copyCompletionError = %+v, want CopySourceNotFound with a message", ce)
	}
	if _, err := e.srv.ReadData(*final.ID, 0, 1); err == nil {
		t.Error("a failed copy's data can be read")
	}
}
