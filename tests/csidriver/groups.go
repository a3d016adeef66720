package csidriver

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// group is one volume group snapshot as recorded in state.json.
type group struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	VolumeIDs []string  `json:"volumeIds"`   // sorted
	Snapshots []string  `json:"snapshotIds"` // one per volume, in VolumeIDs order
	CreatedAt time.Time `json:"createdAt"`
}

// groupServer implements the CSI GroupController service (volume group
// snapshots, GA in external-snapshotter v8.7.0). The members of a group are
// ordinary snapshots taken one after another while the driver's lock is
// held, so no other CSI call changes a volume in between; writers inside
// pods are not paused.
type groupServer struct {
	csi.UnimplementedGroupControllerServer
	d *driver
}

func (s *groupServer) GroupControllerGetCapabilities(context.Context, *csi.GroupControllerGetCapabilitiesRequest) (*csi.GroupControllerGetCapabilitiesResponse, error) {
	return &csi.GroupControllerGetCapabilitiesResponse{Capabilities: []*csi.GroupControllerServiceCapability{{
		Type: &csi.GroupControllerServiceCapability_Rpc{Rpc: &csi.GroupControllerServiceCapability_RPC{
			Type: csi.GroupControllerServiceCapability_RPC_CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT,
		}},
	}}}, nil
}

// CreateVolumeGroupSnapshot snapshots every source volume. The same name
// and volumes return the same group; other volumes return AlreadyExists.
func (s *groupServer) CreateVolumeGroupSnapshot(_ context.Context, req *csi.CreateVolumeGroupSnapshotRequest) (*csi.CreateVolumeGroupSnapshotResponse, error) {
	name := req.GetName()
	volumeIDs := slices.Sorted(slices.Values(req.GetSourceVolumeIds()))
	volumeIDs = slices.Compact(volumeIDs)
	switch {
	case name == "":
		return nil, status.Error(codes.InvalidArgument, "name is required")
	case len(volumeIDs) == 0:
		return nil, status.Error(codes.InvalidArgument, "source volume ids are required")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if g := d.st.groupByName(name); g != nil {
		if !slices.Equal(g.VolumeIDs, volumeIDs) {
			return nil, status.Errorf(codes.AlreadyExists, "group snapshot %q exists as %s of volumes %v", name, g.ID, g.VolumeIDs)
		}
		return &csi.CreateVolumeGroupSnapshotResponse{GroupSnapshot: d.csiGroup(g)}, nil
	}
	for _, id := range volumeIDs {
		if d.st.Volumes[id] == nil {
			return nil, status.Errorf(codes.NotFound, "source volume %q not found", id)
		}
	}
	g := &group{ID: newID("group"), Name: name, VolumeIDs: volumeIDs, CreatedAt: time.Now().UTC()}
	for _, id := range volumeIDs {
		sn, err := d.takeSnapshot(fmt.Sprintf("%s-%s", name, id), d.st.Volumes[id], g.ID)
		if err != nil {
			d.dropSnapshots(g.Snapshots)
			return nil, internalErr(err)
		}
		g.Snapshots = append(g.Snapshots, sn.ID)
	}
	d.st.Groups[g.ID] = g
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.CreateVolumeGroupSnapshotResponse{GroupSnapshot: d.csiGroup(g)}, nil
}

// DeleteVolumeGroupSnapshot deletes a group and its member snapshots (as
// DeleteSnapshot would). An unknown ID succeeds; snapshot_ids, when given,
// must name exactly the group's members.
func (s *groupServer) DeleteVolumeGroupSnapshot(_ context.Context, req *csi.DeleteVolumeGroupSnapshotRequest) (*csi.DeleteVolumeGroupSnapshotResponse, error) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.group(req.GetGroupSnapshotId(), req.GetSnapshotIds())
	if status.Code(err) == codes.NotFound {
		return &csi.DeleteVolumeGroupSnapshotResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, id := range g.Snapshots {
		if sn := d.st.Snapshots[id]; sn != nil {
			sn.Deleted = true
			if err := d.reapSnapshot(id); err != nil {
				return nil, internalErr(err)
			}
		}
	}
	delete(d.st.Groups, g.ID)
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.DeleteVolumeGroupSnapshotResponse{}, nil
}

// GetVolumeGroupSnapshot returns a group with its live member snapshots.
func (s *groupServer) GetVolumeGroupSnapshot(_ context.Context, req *csi.GetVolumeGroupSnapshotRequest) (*csi.GetVolumeGroupSnapshotResponse, error) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	g, err := d.group(req.GetGroupSnapshotId(), req.GetSnapshotIds())
	if err != nil {
		return nil, err
	}
	return &csi.GetVolumeGroupSnapshotResponse{GroupSnapshot: d.csiGroup(g)}, nil
}

// group finds group id and checks that snapshotIDs, when given, are its
// members.
func (d *driver) group(id string, snapshotIDs []string) (*group, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "group snapshot id is required")
	}
	g := d.st.Groups[id]
	if g == nil {
		return nil, status.Errorf(codes.NotFound, "group snapshot %q not found", id)
	}
	if len(snapshotIDs) > 0 && !slices.Equal(slices.Sorted(slices.Values(snapshotIDs)), slices.Sorted(slices.Values(g.Snapshots))) {
		return nil, status.Errorf(codes.InvalidArgument, "snapshot ids %v are not the members %v of group snapshot %s", snapshotIDs, g.Snapshots, id)
	}
	return g, nil
}

// dropSnapshots removes snapshots created by a group call that failed.
func (d *driver) dropSnapshots(ids []string) {
	for _, id := range ids {
		if sn := d.st.Snapshots[id]; sn != nil {
			sn.Deleted = true
			_ = d.reapSnapshot(id)
		}
	}
}

func (d *driver) csiGroup(g *group) *csi.VolumeGroupSnapshot {
	out := &csi.VolumeGroupSnapshot{GroupSnapshotId: g.ID, CreationTime: timestamppb.New(g.CreatedAt), ReadyToUse: true}
	for _, id := range g.Snapshots {
		if sn := d.st.liveSnapshot(id); sn != nil {
			out.Snapshots = append(out.Snapshots, csiSnapshot(sn))
		}
	}
	return out
}

func (st *state) groupByName(name string) *group {
	for _, g := range st.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}
