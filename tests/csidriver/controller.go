package csidriver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// defaultCapacity is the size of a volume whose request names none (CSI
// leaves the choice to the plugin).
const defaultCapacity int64 = 1 << 30

// ShallowViewContextKey is the volume context key of a shallow read-only
// view; its value is the ID of the snapshot the volume shows.
const ShallowViewContextKey = "csi.snapflow.dev/shallow-view-of"

// controllerServer implements the CSI Controller service.
type controllerServer struct {
	csi.UnimplementedControllerServer
	d *driver
}

func (s *controllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// CreateVolume creates an empty volume, a full copy of a snapshot or volume,
// or a shallow read-only view of a snapshot (see the package doc). The same
// name returns the same volume; a conflicting request returns AlreadyExists.
func (s *controllerServer) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.st.volumeByName(req.GetName()); v != nil {
		if err := sameVolume(v, req, d.az == nil); err != nil {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists as %s: %v", req.GetName(), v.ID, err)
		}
		return &csi.CreateVolumeResponse{Volume: csiVolume(v)}, nil
	}
	var v *volume
	var err error
	if d.az != nil {
		v, err = d.createAzureVolume(ctx, req)
	} else {
		v, err = d.createVolume(req)
	}
	if err != nil {
		return nil, err
	}
	return &csi.CreateVolumeResponse{Volume: csiVolume(v)}, nil
}

func (d *driver) createVolume(req *csi.CreateVolumeRequest) (*volume, error) {
	v := &volume{ID: newID("vol"), Name: req.GetName(), Parameters: req.GetParameters(), CreatedAt: time.Now().UTC()}
	src, minBytes, err := d.resolveSource(req.GetVolumeContentSource(), v)
	if err != nil {
		return nil, err
	}
	if v.CapacityBytes, err = capacityFor(req.GetCapacityRange(), minBytes); err != nil {
		return nil, err
	}
	var copied int64
	dir := d.volumeDir(v.ID)
	switch {
	case v.SourceSnapshot != "" && allReadOnly(req.GetVolumeCapabilities()):
		v.ViewOf = v.SourceSnapshot // shallow: nothing to copy
	case src != "":
		copied, err = copyTree(src, dir)
	default:
		if err = os.Mkdir(dir, 0o777); err == nil {
			err = os.Chmod(dir, 0o777) // any pod user may write, whatever the umask
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, internalErr(fmt.Errorf("create volume %s: %w", v.ID, err))
	}
	d.st.Volumes[v.ID] = v
	d.st.BytesCopied += copied
	d.st.PerVolume[v.ID] = copied
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return v, nil
}

// resolveSource records the content source in v and returns the directory
// to copy from and the source's size.
func (d *driver) resolveSource(src *csi.VolumeContentSource, v *volume) (string, int64, error) {
	switch {
	case src == nil:
		return "", 0, nil
	case src.GetSnapshot() != nil:
		id := src.GetSnapshot().GetSnapshotId()
		sn := d.st.liveSnapshot(id)
		if sn == nil {
			return "", 0, status.Errorf(codes.NotFound, "source snapshot %q not found", id)
		}
		v.SourceSnapshot = id
		return d.snapshotDir(id), sn.SizeBytes, nil
	case src.GetVolume() != nil:
		id := src.GetVolume().GetVolumeId()
		sv := d.st.Volumes[id]
		if sv == nil {
			return "", 0, status.Errorf(codes.NotFound, "source volume %q not found", id)
		}
		v.SourceVolume = id
		return d.contentDir(sv), sv.CapacityBytes, nil
	}
	return "", 0, status.Error(codes.InvalidArgument, "unsupported volume content source")
}

// capacityFor picks a new volume's size: the required bytes, at least
// minBytes (the size of its source), within the limit.
func capacityFor(r *csi.CapacityRange, minBytes int64) (int64, error) {
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || lim < 0 || (lim > 0 && req > lim) {
		return 0, status.Errorf(codes.InvalidArgument, "invalid capacity range: required %d, limit %d", req, lim)
	}
	c := max(req, minBytes)
	if c == 0 {
		c = defaultCapacity
		if lim > 0 {
			c = min(c, lim)
		}
	}
	if lim > 0 && c > lim {
		return 0, status.Errorf(codes.OutOfRange, "source needs %d bytes, limit is %d", c, lim)
	}
	return c, nil
}

func fitsRange(c int64, r *csi.CapacityRange) bool {
	return c >= r.GetRequiredBytes() && (r.GetLimitBytes() == 0 || c <= r.GetLimitBytes())
}

// sameVolume reports how req differs from the existing volume v; views
// says whether read-only requests make shallow views.
func sameVolume(v *volume, req *csi.CreateVolumeRequest, views bool) error {
	src := req.GetVolumeContentSource()
	snap, vol := src.GetSnapshot().GetSnapshotId(), src.GetVolume().GetVolumeId()
	switch {
	case snap != v.SourceSnapshot || vol != v.SourceVolume:
		return errors.New("different content source")
	case !fitsRange(v.CapacityBytes, req.GetCapacityRange()):
		return fmt.Errorf("capacity %d is outside the requested range", v.CapacityBytes)
	case (v.ViewOf != "") != (views && snap != "" && allReadOnly(req.GetVolumeCapabilities())):
		return errors.New("different access modes: shallow view versus full copy")
	case !maps.Equal(v.Parameters, req.GetParameters()):
		return errors.New("different parameters")
	}
	return nil
}

func csiVolume(v *volume) *csi.Volume {
	out := &csi.Volume{VolumeId: v.ID, CapacityBytes: v.CapacityBytes}
	switch {
	case v.SourceSnapshot != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: v.SourceSnapshot},
		}}
	case v.SourceVolume != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v.SourceVolume},
		}}
	}
	if v.ViewOf != "" {
		out.VolumeContext = map[string]string{ShallowViewContextKey: v.ViewOf}
	}
	return out
}

// DeleteVolume removes a volume and its directory. An unknown ID succeeds;
// a volume still staged or published fails with FailedPrecondition.
func (s *controllerServer) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.st.Volumes[id]
	if v == nil { // the Azure Disk CSI driver deletes the disk the ID names
		if err := d.deleteDisk(ctx, id); err != nil {
			return nil, err
		}
		return &csi.DeleteVolumeResponse{}, nil
	}
	if at := d.mountedAt(v); at != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still mounted at %s", id, at)
	}
	if err := d.deleteDisk(ctx, id); err != nil {
		return nil, err
	}
	if v.ViewOf == "" {
		if err := removeData(d.volumeDir(id)); err != nil {
			return nil, internalErr(fmt.Errorf("delete volume %s: %w", id, err))
		}
	}
	delete(d.st.Volumes, id)
	if err := d.reapSnapshot(v.ViewOf); err != nil {
		return nil, internalErr(err)
	}
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// ValidateVolumeCapabilities confirms mount access with any access mode,
// and only read-only modes for a shallow view.
func (s *controllerServer) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	caps := req.GetVolumeCapabilities()
	switch {
	case req.GetVolumeId() == "":
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	case len(caps) == 0:
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.st.Volumes[req.GetVolumeId()]
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %q not found", req.GetVolumeId())
	}
	if err := checkCapabilities(caps); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	if v.ViewOf != "" && !allReadOnly(caps) {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: "volume is a read-only view of snapshot " + v.ViewOf}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: caps,
		Parameters:         req.GetParameters(),
	}}, nil
}

// checkCapabilities accepts mount access with a known access mode; block
// access is not possible on a directory.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return errors.New("volume capabilities are required")
	}
	for _, c := range caps {
		switch {
		case c.GetBlock() != nil:
			return errors.New("block access is not supported")
		case c.GetMount() == nil:
			return errors.New("mount access type is required")
		case c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_UNKNOWN:
			return errors.New("access mode is required")
		}
	}
	return nil
}

// allReadOnly reports whether every capability asks for a read-only access
// mode, which makes a volume from a snapshot a shallow view.
func allReadOnly(caps []*csi.VolumeCapability) bool {
	for _, c := range caps {
		switch c.GetAccessMode().GetMode() {
		case csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY, csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:
		default:
			return false
		}
	}
	return len(caps) > 0
}
