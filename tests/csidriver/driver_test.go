package csidriver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

const (
	rwo  = csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	rwx  = csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	rox  = csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	rsno = csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY
)

// TestRestoreByteCounting checks the Ceph RBD cost model: writable restores
// and clones copy every byte, read-only restores copy none.
func TestRestoreByteCounting(t *testing.T) {
	td := startDriver(t, t.TempDir())
	src := td.mustCreateVolume(t, volumeRequest("source", 10*mib, rwo))
	writeFile(t, td.volumePath(src.GetVolumeId(), "data.bin"), bytes.Repeat([]byte{7}, mib), 0o644)
	snap := td.mustSnapshot(t, "snap", src.GetVolumeId())

	type result struct {
		Copied  int64
		Shallow bool
		HasDir  bool
	}
	full, shallow := result{Copied: mib, HasDir: true}, result{Shallow: true}
	tests := []struct {
		name string
		req  *csi.CreateVolumeRequest
		want result
	}{
		{"ReadWriteOnce restore is a full copy", fromSnapshot(volumeRequest("rwo", 10*mib, rwo), snap.GetSnapshotId()), full},
		{"ReadWriteMany restore is a full copy", fromSnapshot(volumeRequest("rwx", 10*mib, rwx), snap.GetSnapshotId()), full},
		{"ReadOnlyMany restore is shallow", fromSnapshot(volumeRequest("rox", 10*mib, rox), snap.GetSnapshotId()), shallow},
		{"single-node read-only restore is shallow", fromSnapshot(volumeRequest("rsno", 0, rsno), snap.GetSnapshotId()), shallow},
		{"read-only plus writer restore is a full copy", fromSnapshot(volumeRequest("mixed", 10*mib, rox, rwo), snap.GetSnapshotId()), full},
		{"read-only clone is a full copy", fromVolume(volumeRequest("clone", 10*mib, rox), src.GetVolumeId()), full},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := td.stats(t)
			v := td.mustCreateVolume(t, tc.req)
			after := td.stats(t)
			_, statErr := os.Stat(td.volumePath(v.GetVolumeId()))
			got := result{
				Copied:  after.PerVolume[v.GetVolumeId()],
				Shallow: v.GetVolumeContext()[ShallowViewContextKey] == snap.GetSnapshotId(),
				HasDir:  statErr == nil,
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("volume %s (-want +got):\n%s", v.GetVolumeId(), diff)
			}
			if delta := after.BytesCopied - before.BytesCopied; delta != tc.want.Copied {
				t.Errorf("bytesCopied grew by %d, want %d", delta, tc.want.Copied)
			}
			if v.GetCapacityBytes() != 10*mib {
				t.Errorf("capacity %d, want %d (the snapshot's size)", v.GetCapacityBytes(), 10*mib)
			}
		})
	}
}

// TestSnapshotImmutable checks that a snapshot is a point-in-time copy: later
// changes to the volume show neither in it nor in volumes restored from it.
func TestSnapshotImmutable(t *testing.T) {
	td := startDriver(t, t.TempDir())
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	id := vol.GetVolumeId()
	writeFile(t, td.volumePath(id, "a.txt"), []byte("v1"), 0o640)
	writeFile(t, td.volumePath(id, "dir", "b.sh"), []byte("#!/bin/sh"), 0o755)
	if err := os.Symlink("a.txt", td.volumePath(id, "link")); err != nil {
		t.Fatal(err)
	}
	want := readTree(t, td.volumePath(id))
	snap := td.mustSnapshot(t, "snap", id)

	writeFile(t, td.volumePath(id, "a.txt"), []byte("v2"), 0o600)
	writeFile(t, td.volumePath(id, "c.txt"), []byte("new"), 0o644)
	if err := os.RemoveAll(td.volumePath(id, "dir")); err != nil {
		t.Fatal(err)
	}

	snapDir := filepath.Join(td.dataDir, "snapshots", snap.GetSnapshotId())
	if diff := cmp.Diff(want, readTree(t, snapDir)); diff != "" {
		t.Errorf("snapshot changed with its volume (-want +got):\n%s", diff)
	}
	restored := td.mustCreateVolume(t, fromSnapshot(volumeRequest("restored", mib, rwo), snap.GetSnapshotId()))
	if diff := cmp.Diff(want, readTree(t, td.volumePath(restored.GetVolumeId()))); diff != "" {
		t.Errorf("restored volume (-want +got):\n%s", diff)
	}
}

// TestIdempotentAndErrors checks that repeated calls return the same objects
// and that conflicting or invalid calls fail with the CSI error codes.
func TestIdempotentAndErrors(t *testing.T) {
	td := startDriver(t, t.TempDir())
	ctx := context.Background()
	v1 := td.mustCreateVolume(t, volumeRequest("vol", 10*mib, rwo))
	v2 := td.mustCreateVolume(t, volumeRequest("vol", 10*mib, rwo))
	if diff := cmp.Diff(v1.GetVolumeId(), v2.GetVolumeId()); diff != "" || v2.GetCapacityBytes() != 10*mib {
		t.Errorf("second CreateVolume: id diff %s, capacity %d", diff, v2.GetCapacityBytes())
	}
	other := td.mustCreateVolume(t, volumeRequest("other", 0, rwo))
	if other.GetCapacityBytes() != defaultCapacity {
		t.Errorf("volume without capacity range: %d bytes, want %d", other.GetCapacityBytes(), defaultCapacity)
	}
	s1 := td.mustSnapshot(t, "snap", v1.GetVolumeId())
	if s2 := td.mustSnapshot(t, "snap", v1.GetVolumeId()); s2.GetSnapshotId() != s1.GetSnapshotId() || s2.GetSizeBytes() != 10*mib {
		t.Errorf("second CreateSnapshot: got %s (%d bytes), want %s (%d bytes)", s2.GetSnapshotId(), s2.GetSizeBytes(), s1.GetSnapshotId(), 10*mib)
	}

	bigger := volumeRequest("vol", 20*mib, rwo)
	bigger.CapacityRange.LimitBytes = 20 * mib
	tooSmall := fromSnapshot(volumeRequest("small", mib, rwo), s1.GetSnapshotId())
	tooSmall.CapacityRange.LimitBytes = mib
	block := volumeRequest("block", mib, rwo)
	block.VolumeCapabilities[0].AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
	tests := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"same volume name, other size", func() error { _, err := td.ctrl.CreateVolume(ctx, bigger); return err }, codes.AlreadyExists},
		{"same volume name, other source", func() error {
			_, err := td.ctrl.CreateVolume(ctx, fromSnapshot(volumeRequest("vol", 10*mib, rwo), s1.GetSnapshotId()))
			return err
		}, codes.AlreadyExists},
		{"same snapshot name, other source", func() error {
			_, err := td.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap", SourceVolumeId: other.GetVolumeId()})
			return err
		}, codes.AlreadyExists},
		{"restore smaller than the snapshot", func() error { _, err := td.ctrl.CreateVolume(ctx, tooSmall); return err }, codes.OutOfRange},
		{"missing source snapshot", func() error {
			_, err := td.ctrl.CreateVolume(ctx, fromSnapshot(volumeRequest("x", mib, rwo), "snap-0000000000000000"))
			return err
		}, codes.NotFound},
		{"missing source volume", func() error {
			_, err := td.ctrl.CreateVolume(ctx, fromVolume(volumeRequest("x", mib, rwo), "vol-0"))
			return err
		}, codes.NotFound},
		{"block access", func() error { _, err := td.ctrl.CreateVolume(ctx, block); return err }, codes.InvalidArgument},
		{"no name", func() error { _, err := td.ctrl.CreateVolume(ctx, volumeRequest("", mib, rwo)); return err }, codes.InvalidArgument},
		{"snapshot of a missing volume", func() error {
			_, err := td.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: "vol-0"})
			return err
		}, codes.NotFound},
		{"bad list token", func() error {
			_, err := td.ctrl.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: "nope"})
			return err
		}, codes.Aborted},
		{"delete snapshot", func() error {
			_, err := td.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s1.GetSnapshotId()})
			return err
		}, codes.OK},
		{"delete snapshot again", func() error {
			_, err := td.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: s1.GetSnapshotId()})
			return err
		}, codes.OK},
		{"delete volume", func() error {
			_, err := td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: v1.GetVolumeId()})
			return err
		}, codes.OK},
		{"delete volume again", func() error {
			_, err := td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: v1.GetVolumeId()})
			return err
		}, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.want) })
	}
}

// TestStateReload checks that a restarted driver keeps its volumes,
// snapshots and stats.
func TestStateReload(t *testing.T) {
	dataDir := t.TempDir()
	td := startDriver(t, dataDir)
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	writeFile(t, td.volumePath(vol.GetVolumeId(), "f"), []byte("hello"), 0o644)
	snap := td.mustSnapshot(t, "snap", vol.GetVolumeId())
	view := td.mustCreateVolume(t, fromSnapshot(volumeRequest("view", mib, rox), snap.GetSnapshotId()))
	td.mustCreateVolume(t, fromSnapshot(volumeRequest("copy", mib, rwo), snap.GetSnapshotId()))
	before := td.stats(t)
	td.stop()

	td = startDriver(t, dataDir)
	if diff := cmp.Diff(before, td.stats(t)); diff != "" {
		t.Errorf("stats after restart (-before +after):\n%s", diff)
	}
	if again := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo)); again.GetVolumeId() != vol.GetVolumeId() {
		t.Errorf("volume after restart: got %s, want %s", again.GetVolumeId(), vol.GetVolumeId())
	}
	if again := td.mustCreateVolume(t, fromSnapshot(volumeRequest("view", mib, rox), snap.GetSnapshotId())); again.GetVolumeId() != view.GetVolumeId() {
		t.Errorf("shallow view after restart: got %s, want %s", again.GetVolumeId(), view.GetVolumeId())
	}
	list, err := td.ctrl.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{SourceVolumeId: vol.GetVolumeId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetEntries()) != 1 || list.GetEntries()[0].GetSnapshot().GetSnapshotId() != snap.GetSnapshotId() {
		t.Errorf("snapshots after restart: %v, want only %s", list.GetEntries(), snap.GetSnapshotId())
	}
}

// TestDeleteSnapshotKeepsShallowView checks the chosen policy: deleting a
// snapshot that a shallow view shows succeeds and hides the snapshot, but
// its data stays until the last view is deleted.
func TestDeleteSnapshotKeepsShallowView(t *testing.T) {
	td := startDriver(t, t.TempDir())
	ctx := context.Background()
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	writeFile(t, td.volumePath(vol.GetVolumeId(), "f"), []byte("kept"), 0o644)
	snap := td.mustSnapshot(t, "snap", vol.GetVolumeId())
	view := td.mustCreateVolume(t, fromSnapshot(volumeRequest("view", mib, rox), snap.GetSnapshotId()))
	snapFile := filepath.Join(td.dataDir, "snapshots", snap.GetSnapshotId(), "f")

	if _, err := td.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshotId()}); err != nil {
		t.Fatalf("DeleteSnapshot with a live view: %v", err)
	}
	list, err := td.ctrl.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: snap.GetSnapshotId()})
	if err != nil || len(list.GetEntries()) != 0 {
		t.Errorf("ListSnapshots after delete: %v, %v; want no entries", list.GetEntries(), err)
	}
	_, err = td.ctrl.CreateVolume(ctx, fromSnapshot(volumeRequest("late", mib, rox), snap.GetSnapshotId()))
	wantCode(t, err, codes.NotFound)
	if b, err := os.ReadFile(snapFile); err != nil || string(b) != "kept" {
		t.Errorf("view's data after snapshot delete: %q, %v; want \"kept\"", b, err)
	}
	if got := td.stats(t).Snapshots; got != 0 {
		t.Errorf("stats.snapshots = %d, want 0", got)
	}

	if _, err := td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: view.GetVolumeId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(snapFile)); !os.IsNotExist(err) {
		t.Errorf("snapshot dir after its last view was deleted: %v, want it gone", err)
	}
}

// TestSnapshotReadyAfter checks the readyAfter class parameter: the
// snapshot is cut (it has an ID and a creation time) but not ready until
// the delay passed, and a bad value is refused.
func TestSnapshotReadyAfter(t *testing.T) {
	td := startDriver(t, t.TempDir())
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	ctx := context.Background()
	req := &csi.CreateSnapshotRequest{Name: "slow", SourceVolumeId: vol.GetVolumeId(), Parameters: map[string]string{ReadyAfterParam: "1h"}}
	resp, err := td.ctrl.CreateSnapshot(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if sn := resp.GetSnapshot(); sn.GetSnapshotId() == "" || sn.GetCreationTime() == nil || sn.GetReadyToUse() {
		t.Fatalf("want a cut snapshot that is not ready, got %v", sn)
	}
	list, err := td.ctrl.ListSnapshots(ctx, &csi.ListSnapshotsRequest{SnapshotId: resp.GetSnapshot().GetSnapshotId()})
	if err != nil || len(list.GetEntries()) != 1 || list.GetEntries()[0].GetSnapshot().GetReadyToUse() {
		t.Fatalf("ListSnapshots: want one entry not ready, got %v, %v", list, err)
	}
	now, err := td.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "now", SourceVolumeId: vol.GetVolumeId(), Parameters: map[string]string{ReadyAfterParam: "0s"}})
	if err != nil || !now.GetSnapshot().GetReadyToUse() {
		t.Fatalf("readyAfter 0s: want ready, got %v, %v", now, err)
	}
	_, err = td.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "bad", SourceVolumeId: vol.GetVolumeId(), Parameters: map[string]string{ReadyAfterParam: "soon"}})
	wantCode(t, err, codes.InvalidArgument)
}
