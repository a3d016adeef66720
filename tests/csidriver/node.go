package csidriver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxVolumesPerNode is what NodeGetInfo reports; bind mounts have no real
// limit, so it only keeps the scheduler's bookkeeping finite.
const maxVolumesPerNode = 1000

// nodeServer implements the CSI Node service with bind mounts.
type nodeServer struct {
	csi.UnimplementedNodeServer
	d *driver
}

func (s *nodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: s.d.cfg.NodeID, MaxVolumesPerNode: maxVolumesPerNode}, nil
}

func (s *nodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{
			Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		}},
	}}}, nil
}

// NodeStageVolume bind-mounts the volume's directory at the staging path
// (which the CO creates) and records it.
func (s *nodeServer) NodeStageVolume(_ context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	if err := checkNodeRequest(req.GetVolumeId(), req.GetStagingTargetPath(), true, req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volume(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if err := d.mountVolume(v, req.GetStagingTargetPath(), false); err != nil {
		return nil, err
	}
	v.StagedAt = req.GetStagingTargetPath()
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

// NodeUnstageVolume unmounts the staging path; it succeeds when nothing is
// mounted there. The path itself belongs to the CO and stays.
func (s *nodeServer) NodeUnstageVolume(_ context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	id, path := req.GetVolumeId(), req.GetStagingTargetPath()
	if err := checkNodeRequest(id, path, false, nil); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := unmountAll(path); err != nil {
		return nil, internalErr(err)
	}
	if v := d.st.Volumes[id]; v != nil && v.StagedAt == path {
		v.StagedAt = ""
		if err := d.commit(); err != nil {
			return nil, internalErr(err)
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// NodePublishVolume creates the target directory and bind-mounts the volume
// directory (for a shallow view, the snapshot directory) there, read-only
// when the request asks for it or the volume is a shallow view.
func (s *nodeServer) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if err := checkNodeRequest(req.GetVolumeId(), target, true, req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.volume(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, internalErr(fmt.Errorf("create target: %w", err))
	}
	if err := d.mountVolume(v, target, req.GetReadonly()); err != nil {
		return nil, err
	}
	if !slices.Contains(v.PublishedAt, target) {
		v.PublishedAt = append(v.PublishedAt, target)
	}
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target and removes the directory; it
// succeeds when nothing is mounted or the directory is already gone.
func (s *nodeServer) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if err := checkNodeRequest(id, target, false, nil); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := unmountAll(target); err != nil {
		return nil, internalErr(err)
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, internalErr(fmt.Errorf("remove target: %w", err))
	}
	if v := d.st.Volumes[id]; v != nil && slices.Contains(v.PublishedAt, target) {
		v.PublishedAt = slices.DeleteFunc(v.PublishedAt, func(p string) bool { return p == target })
		if err := d.commit(); err != nil {
			return nil, internalErr(err)
		}
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// checkNodeRequest checks the fields node calls need; stage and publish
// (needsCap) also need a valid capability.
func checkNodeRequest(id, path string, needsCap bool, capability *csi.VolumeCapability) error {
	switch {
	case id == "":
		return status.Error(codes.InvalidArgument, "volume id is required")
	case path == "":
		return status.Error(codes.InvalidArgument, "target path is required")
	case !needsCap:
		return nil
	}
	if err := checkCapabilities([]*csi.VolumeCapability{capability}); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

func (d *driver) volume(id string) (*volume, error) {
	if v := d.st.Volumes[id]; v != nil {
		return v, nil
	}
	return nil, status.Errorf(codes.NotFound, "volume %q not found", id)
}

// mountVolume bind-mounts v's content at target unless target is mounted
// already: by v, that is success; by another volume, AlreadyExists.
func (d *driver) mountVolume(v *volume, target string, readOnly bool) error {
	mounted, err := isMountPoint(target)
	if err != nil {
		return internalErr(err)
	}
	if mounted {
		if other := d.st.mountedBy(target); other != nil && other != v {
			return status.Errorf(codes.AlreadyExists, "%s is in use by volume %s", target, other.ID)
		}
		return nil
	}
	if err := bindMount(d.contentDir(v), target, readOnly || v.ViewOf != ""); err != nil {
		return internalErr(err)
	}
	return nil
}

// mountedBy returns the volume recorded as staged or published at path.
func (st *state) mountedBy(path string) *volume {
	for _, v := range st.Volumes {
		if v.StagedAt == path || slices.Contains(v.PublishedAt, path) {
			return v
		}
	}
	return nil
}

// mountedAt returns a path where v is still mounted, or "".
func (d *driver) mountedAt(v *volume) string {
	for _, p := range append([]string{v.StagedAt}, v.PublishedAt...) {
		if p == "" {
			continue
		}
		if mounted, err := isMountPoint(p); err != nil || mounted {
			return p
		}
	}
	return ""
}
