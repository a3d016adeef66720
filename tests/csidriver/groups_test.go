package csidriver

import (
	"context"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

// TestGroupSnapshot checks a group snapshot's life: idempotent creation,
// members visible to ListSnapshots and usable as restore sources, and
// deletion of the members with the group.
func TestGroupSnapshot(t *testing.T) {
	td := startDriver(t, t.TempDir())
	ctx := context.Background()
	gc := csi.NewGroupControllerClient(td.conn)
	a := td.mustCreateVolume(t, volumeRequest("a", mib, rwo))
	b := td.mustCreateVolume(t, volumeRequest("b", mib, rwo))
	writeFile(t, td.volumePath(a.GetVolumeId(), "f"), []byte("a"), 0o644)
	req := &csi.CreateVolumeGroupSnapshotRequest{Name: "group", SourceVolumeIds: []string{b.GetVolumeId(), a.GetVolumeId()}}

	first, err := gc.CreateVolumeGroupSnapshot(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := gc.CreateVolumeGroupSnapshot(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	members := func(g *csi.VolumeGroupSnapshot) map[string]string { // source volume -> snapshot
		out := map[string]string{}
		for _, s := range g.GetSnapshots() {
			out[s.GetSourceVolumeId()] = s.GetSnapshotId()
			if s.GetGroupSnapshotId() != g.GetGroupSnapshotId() {
				t.Errorf("member %s has group %q, want %q", s.GetSnapshotId(), s.GetGroupSnapshotId(), g.GetGroupSnapshotId())
			}
		}
		return out
	}
	want := members(first.GetGroupSnapshot())
	if len(want) != 2 || again.GetGroupSnapshot().GetGroupSnapshotId() != first.GetGroupSnapshot().GetGroupSnapshotId() {
		t.Fatalf("groups: first %v, again %v", first, again)
	}
	if diff := cmp.Diff(want, members(again.GetGroupSnapshot())); diff != "" {
		t.Errorf("repeated create (-first +again):\n%s", diff)
	}
	groupID := first.GetGroupSnapshot().GetGroupSnapshotId()
	restored := td.mustCreateVolume(t, fromSnapshot(volumeRequest("restored", mib, rwo), want[a.GetVolumeId()]))
	if diff := cmp.Diff(readTree(t, td.volumePath(a.GetVolumeId())), readTree(t, td.volumePath(restored.GetVolumeId()))); diff != "" {
		t.Errorf("restore from a member (-source +restored):\n%s", diff)
	}

	tests := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"same name, other volumes", func() error {
			_, err := gc.CreateVolumeGroupSnapshot(ctx, &csi.CreateVolumeGroupSnapshotRequest{Name: "group", SourceVolumeIds: []string{a.GetVolumeId()}})
			return err
		}, codes.AlreadyExists},
		{"missing volume", func() error {
			_, err := gc.CreateVolumeGroupSnapshot(ctx, &csi.CreateVolumeGroupSnapshotRequest{Name: "g2", SourceVolumeIds: []string{"vol-0"}})
			return err
		}, codes.NotFound},
		{"get with wrong members", func() error {
			_, err := gc.GetVolumeGroupSnapshot(ctx, &csi.GetVolumeGroupSnapshotRequest{GroupSnapshotId: groupID, SnapshotIds: []string{want[a.GetVolumeId()]}})
			return err
		}, codes.InvalidArgument},
		{"delete", func() error {
			_, err := gc.DeleteVolumeGroupSnapshot(ctx, &csi.DeleteVolumeGroupSnapshotRequest{GroupSnapshotId: groupID, SnapshotIds: []string{want[a.GetVolumeId()], want[b.GetVolumeId()]}})
			return err
		}, codes.OK},
		{"get after delete", func() error {
			_, err := gc.GetVolumeGroupSnapshot(ctx, &csi.GetVolumeGroupSnapshotRequest{GroupSnapshotId: groupID})
			return err
		}, codes.NotFound},
		{"delete again", func() error {
			_, err := gc.DeleteVolumeGroupSnapshot(ctx, &csi.DeleteVolumeGroupSnapshotRequest{GroupSnapshotId: groupID})
			return err
		}, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.want) })
	}
	list, err := td.ctrl.ListSnapshots(ctx, &csi.ListSnapshotsRequest{})
	if err != nil || len(list.GetEntries()) != 0 {
		t.Errorf("snapshots after the group was deleted: %v, %v; want none", list.GetEntries(), err)
	}
}
