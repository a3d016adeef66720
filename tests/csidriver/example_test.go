package csidriver_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/snapflow/snapflow/tests/csidriver"
)

// ExampleRun serves the driver, restores a snapshot of a volume holding
// 1 MiB twice, and reads what that cost: the ReadWriteOnce restore copied
// every byte, the ReadOnlyMany one is a shallow view that copied nothing.
func ExampleRun() {
	dataDir, err := os.MkdirTemp("", "csidriver-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(dataDir, "csi.sock")
	cfg := csidriver.Config{Name: "csi.snapflow.dev", NodeID: "node-1", DataDir: dataDir, Version: "v0.1.0", Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- csidriver.Run(ctx, cfg, "unix://"+sock) }()
	defer func() { cancel(); <-done }()
	var statErr error
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		_, statErr = os.Stat(sock)
		return statErr == nil, nil
	}); err != nil {
		log.Fatalf("no socket at %s after 10s: %v (last stat: %v)", sock, err, statErr)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctrl := csi.NewControllerClient(conn)

	create := func(name string, mode csi.VolumeCapability_AccessMode_Mode, snapshotID string) *csi.Volume {
		req := &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
		}}}
		if snapshotID != "" {
			req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
				Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snapshotID},
			}}
		}
		resp, err := ctrl.CreateVolume(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		return resp.GetVolume()
	}
	vol := create("data", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, "")
	// A volume is the directory DataDir/volumes/<id>.
	if err := os.WriteFile(filepath.Join(dataDir, "volumes", vol.GetVolumeId(), "db"), bytes.Repeat([]byte{1}, 1<<20), 0o600); err != nil {
		log.Fatal(err)
	}
	snap, err := ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "nightly", SourceVolumeId: vol.GetVolumeId()})
	if err != nil {
		log.Fatal(err)
	}
	create("restore-rwo", csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER, snap.GetSnapshot().GetSnapshotId())
	create("backup-rox", csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, snap.GetSnapshot().GetSnapshotId())

	stats, err := csidriver.ReadStats(dataDir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("copied %d bytes; %d volumes, %d shallow; %d snapshot\n", stats.BytesCopied, stats.Volumes, stats.ShallowVolumes, stats.Snapshots)
	// Output: copied 1048576 bytes; 3 volumes, 1 shallow; 1 snapshot
}
