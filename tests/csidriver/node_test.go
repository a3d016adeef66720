package csidriver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
)

// TestPublish checks the bind mounts: a writable volume is shared with its
// target, a shallow view or a readonly request is mounted read-only, and
// unpublish removes the target.
func TestPublish(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	td := startDriver(t, filepath.Join(root, "data"))
	unmountOnCleanup(t, root)
	ctx := context.Background()
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	writeFile(t, td.volumePath(vol.GetVolumeId(), "f"), []byte("data"), 0o644)
	snap := td.mustSnapshot(t, "snap", vol.GetVolumeId())
	view := td.mustCreateVolume(t, fromSnapshot(volumeRequest("view", mib, rox), snap.GetSnapshotId()))

	tests := []struct {
		name     string
		volumeID string
		mode     csi.VolumeCapability_AccessMode_Mode
		readonly bool
		wantErr  error // from writing a file through the target
	}{
		{"writable volume", vol.GetVolumeId(), rwo, false, nil},
		{"readonly request", vol.GetVolumeId(), rwo, true, syscall.EROFS},
		{"shallow view", view.GetVolumeId(), rox, false, syscall.EROFS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			staging := filepath.Join(root, "staging-"+tc.volumeID)
			target := filepath.Join(root, "pods", tc.volumeID, "mount")
			if err := os.MkdirAll(staging, 0o750); err != nil {
				t.Fatal(err)
			}
			c := mountCap(tc.mode)
			for range 2 { // twice: both calls are idempotent
				if _, err := td.node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: tc.volumeID, StagingTargetPath: staging, VolumeCapability: c}); err != nil {
					t.Fatalf("stage: %v", err)
				}
				if _, err := td.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: tc.volumeID, StagingTargetPath: staging, TargetPath: target, VolumeCapability: c, Readonly: tc.readonly}); err != nil {
					t.Fatalf("publish: %v", err)
				}
			}
			if b, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(b) != "data" {
				t.Errorf("read through target: %q, %v", b, err)
			}
			err := os.WriteFile(filepath.Join(target, "written"), []byte("x"), 0o644)
			if !errors.Is(err, tc.wantErr) && (tc.wantErr != nil || err != nil) {
				t.Errorf("write through target: %v, want %v", err, tc.wantErr)
			}
			_, err = td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: tc.volumeID})
			wantCode(t, err, codes.FailedPrecondition)
			for range 2 {
				if _, err := td.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: tc.volumeID, TargetPath: target}); err != nil {
					t.Fatalf("unpublish: %v", err)
				}
				if _, err := td.node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: tc.volumeID, StagingTargetPath: staging}); err != nil {
					t.Fatalf("unstage: %v", err)
				}
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("target after unpublish: %v, want it removed", err)
			}
		})
	}
	if _, err := os.Stat(td.volumePath(vol.GetVolumeId(), "written")); err != nil {
		t.Errorf("file written through the writable target is not in the volume: %v", err)
	}
}

// TestDeleteVolumeKeepsNestedMounts checks that deleting a volume never
// deletes files of a filesystem mounted inside its directory.
func TestDeleteVolumeKeepsNestedMounts(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	td := startDriver(t, filepath.Join(root, "data"))
	unmountOnCleanup(t, root)
	ctx := context.Background()
	vol := td.mustCreateVolume(t, volumeRequest("vol", mib, rwo))
	outside := filepath.Join(root, "outside")
	writeFile(t, filepath.Join(outside, "precious"), []byte("keep"), 0o644)
	inside := td.volumePath(vol.GetVolumeId(), "sub")
	if err := os.Mkdir(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := bindMount(outside, inside, false); err != nil {
		t.Fatal(err)
	}

	_, err := td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()})
	wantCode(t, err, codes.Internal)
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Errorf("file on the nested mount: %v", err)
	}
	if err := unmountAll(inside); err != nil {
		t.Fatal(err)
	}
	if _, err := td.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()}); err != nil {
		t.Errorf("DeleteVolume after unmount: %v", err)
	}
}
