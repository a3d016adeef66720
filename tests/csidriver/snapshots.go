package csidriver

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// snapshotIDPattern is the shape of the IDs newID("snap") makes; ListSnapshots
// uses such an ID as its pagination token.
var snapshotIDPattern = regexp.MustCompile(`^snap-[0-9a-f]{16}$`)

// CreateSnapshot copies the source volume's directory (for a shallow view,
// the snapshot it shows) to DataDir/snapshots/<id>. The copy is not counted
// in Stats.BytesCopied: on the storage modelled, snapshots are
// copy-on-write. The same name and source return the same snapshot.
func (s *controllerServer) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	name, source := req.GetName(), req.GetSourceVolumeId()
	switch {
	case name == "":
		return nil, status.Error(codes.InvalidArgument, "name is required")
	case source == "":
		return nil, status.Error(codes.InvalidArgument, "source volume id is required")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if sn := d.st.snapshotByName(name); sn != nil {
		if sn.SourceVolumeID != source {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists as %s of volume %s", name, sn.ID, sn.SourceVolumeID)
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(sn)}, nil
	}
	v := d.st.Volumes[source]
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "source volume %q not found", source)
	}
	if d.az != nil {
		sn, err := d.createAzureSnapshot(ctx, name, v, req.GetParameters()["incremental"] != "false")
		if err != nil {
			return nil, err
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(sn)}, nil
	}
	readyAfter, err := readyAfterParam(req.GetParameters())
	if err != nil {
		return nil, err
	}
	sn, err := d.takeSnapshot(name, v, "")
	if err == nil {
		sn.ReadyAt = sn.CreatedAt.Add(readyAfter)
		err = d.commit()
	}
	if err != nil {
		return nil, internalErr(err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(sn)}, nil
}

// ReadyAfterParam is the VolumeSnapshotClass parameter that delays a
// snapshot's readyToUse after it is cut, as a cloud driver does while it
// uploads: the class parameter readyAfter: 3s makes the cut and the ready
// moment observably different, and readyAfter: 1h makes a snapshot that
// times out.
const ReadyAfterParam = "readyAfter"

func readyAfterParam(params map[string]string) (time.Duration, error) {
	v, ok := params[ReadyAfterParam]
	if !ok {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, status.Errorf(codes.InvalidArgument, "parameter %s=%q: want a non-negative duration such as 3s", ReadyAfterParam, v)
	}
	return d, nil
}

// takeSnapshot copies v's content to a new snapshot and records it; the
// caller holds d.mu and commits.
func (d *driver) takeSnapshot(name string, v *volume, groupID string) (*snapshot, error) {
	sn := &snapshot{ID: newID("snap"), Name: name, SourceVolumeID: v.ID, SizeBytes: v.CapacityBytes, GroupID: groupID, CreatedAt: time.Now().UTC()}
	if _, err := copyTree(d.contentDir(v), d.snapshotDir(sn.ID)); err != nil {
		_ = os.RemoveAll(d.snapshotDir(sn.ID))
		return nil, fmt.Errorf("create snapshot %s: %w", sn.ID, err)
	}
	d.st.Snapshots[sn.ID] = sn
	return sn, nil
}

// DeleteSnapshot deletes a snapshot. An unknown ID succeeds. While shallow
// views still show the snapshot, only its record is marked deleted; the
// data goes with the last view (see reapSnapshot).
func (s *controllerServer) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id is required")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.az != nil { // delete what the ID names, as the Azure Disk CSI driver does
		if err := d.az.deleteARM(ctx, "snapshots", id); err != nil {
			return nil, err
		}
		delete(d.st.Snapshots, id)
		if err := d.commit(); err != nil {
			return nil, internalErr(err)
		}
		return &csi.DeleteSnapshotResponse{}, nil
	}
	sn := d.st.liveSnapshot(id)
	if sn == nil {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	sn.Deleted = true
	if err := d.reapSnapshot(id); err != nil {
		sn.Deleted = false // still there; the CO will retry
		return nil, internalErr(err)
	}
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// reapSnapshot removes the data and record of snapshot id once it is
// deleted and no shallow view shows it. Callers hold d.mu and commit.
func (d *driver) reapSnapshot(id string) error {
	sn := d.st.Snapshots[id]
	if sn == nil || !sn.Deleted || d.st.views(id) > 0 {
		return nil
	}
	if err := removeData(d.snapshotDir(id)); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	delete(d.st.Snapshots, id)
	return nil
}

// ListSnapshots lists live snapshots ordered by ID, filtered by snapshot or
// source volume ID. next_token is the ID of the first snapshot of the next
// page, so a page stays correct when snapshots are deleted in between.
// With the Azure-disk personality, a snapshot ID is looked up in ARM.
func (s *controllerServer) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d := s.d
	token := req.GetStartingToken()
	_, azureToken := parseARMID(token, "snapshots")
	switch {
	case req.GetMaxEntries() < 0:
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	case token != "" && !snapshotIDPattern.MatchString(token) && (d.az == nil || !azureToken):
		return nil, status.Errorf(codes.Aborted, "invalid starting token %q", token)
	case d.az != nil && req.GetSnapshotId() != "":
		return d.az.listAzureSnapshot(ctx, req) // ARM knows snapshots made elsewhere
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var list []*snapshot
	for _, sn := range d.st.Snapshots {
		if matchesFilter(sn, req) {
			list = append(list, sn)
		}
	}
	slices.SortFunc(list, func(a, b *snapshot) int { return strings.Compare(a.ID, b.ID) })
	start, _ := slices.BinarySearchFunc(list, token, func(sn *snapshot, t string) int { return strings.Compare(sn.ID, t) })
	list = list[start:]
	resp := &csi.ListSnapshotsResponse{}
	if n := int(req.GetMaxEntries()); n > 0 && len(list) > n {
		resp.NextToken = list[n].ID
		list = list[:n]
	}
	for _, sn := range list {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(sn)})
	}
	return resp, nil
}

func matchesFilter(sn *snapshot, req *csi.ListSnapshotsRequest) bool {
	id, source := req.GetSnapshotId(), req.GetSourceVolumeId()
	return !sn.Deleted && (id == "" || sn.ID == id) && (source == "" || sn.SourceVolumeID == source)
}

func csiSnapshot(sn *snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:      sn.ID,
		SourceVolumeId:  sn.SourceVolumeID,
		SizeBytes:       sn.SizeBytes,
		CreationTime:    timestamppb.New(sn.CreatedAt),
		ReadyToUse:      !time.Now().Before(sn.ReadyAt),
		GroupSnapshotId: sn.GroupID,
	}
}
