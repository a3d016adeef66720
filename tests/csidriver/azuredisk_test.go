package csidriver

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/tests/localarm"
)

const azSub = "sub-1"

// azureWorld is a local ARM over TLS (MSAL wants an https authority) with
// a resource group in eastus and one in westus, and a service principal
// that the drivers get from the environment, as the binary does.
type azureWorld struct {
	srv   *localarm.Server
	cloud function.AzureCloud
	cred  azcore.TokenCredential
	disks *armcompute.DisksClient
	snaps *armcompute.SnapshotsClient
}

func newAzureWorld(t *testing.T) *azureWorld {
	t.Helper()
	srv := localarm.New(localarm.Options{
		ResourceGroups: []localarm.ResourceGroup{
			{ID: "/subscriptions/" + azSub + "/resourceGroups/east", Location: "eastus"},
			{ID: "/subscriptions/" + azSub + "/resourceGroups/west", Location: "westus"},
		},
		Blobs:   localarm.NewMemBlobs(),
		Clients: []localarm.ClientSecret{{TenantID: "tenant-1", ClientID: "client-1", Secret: "csi-driver-5ecret"}},
	})
	hs := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Setenv("AZURE_TENANT_ID", "tenant-1")
	t.Setenv("AZURE_CLIENT_ID", "client-1")
	t.Setenv("AZURE_CLIENT_SECRET", "csi-driver-5ecret")
	t.Setenv("AZURE_AUTHORITY_HOST", hs.URL+"/")
	w := &azureWorld{srv: srv, cloud: function.AzureCloud{
		ResourceManager: hs.URL, Audience: "https://management.core.windows.net/", HTTPClient: hs.Client(),
	}}
	var err error
	if w.cred, err = EnvironmentCredential(w.cloud); err != nil {
		t.Fatal(err)
	}
	if w.disks, err = azuredisk.Disks(w.cloud, azSub, w.cred); err != nil {
		t.Fatal(err)
	}
	if w.snaps, err = azuredisk.Snapshots(w.cloud, azSub, w.cred); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *azureWorld) config(region, rg string) *AzureDiskConfig {
	return &AzureDiskConfig{
		Cloud: w.cloud, Credential: w.cred, Subscription: azSub, ResourceGroup: rg, Region: region,
		Data: &localarm.DataClient{Base: w.cloud.ResourceManager, HTTP: w.cloud.HTTPClient, Token: ARMToken(w.cred, w.cloud.Audience)},
	}
}

func (w *azureWorld) driverConfig(t *testing.T, dataDir, region, rg string) Config {
	return Config{
		Name: "disk.csi.azure.com", NodeID: "node-1", DataDir: dataDir, Version: "v0.0.0-test",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), AzureDisk: w.config(region, rg),
	}
}

// azureController is the controller of a driver in region, making its
// disks and snapshots in resource group rg; the tests call it directly.
func (w *azureWorld) azureController(t *testing.T, dataDir, region, rg string) *controllerServer {
	t.Helper()
	d, err := newDriver(w.driverConfig(t, dataDir, region, rg))
	if err != nil {
		t.Fatal(err)
	}
	return &controllerServer{d: d}
}

func createVol(t *testing.T, cs *controllerServer, req *csi.CreateVolumeRequest) *csi.Volume {
	t.Helper()
	resp, err := cs.CreateVolume(t.Context(), req)
	if err != nil {
		t.Fatalf("CreateVolume(%s): %v", req.GetName(), err)
	}
	return resp.GetVolume()
}

func createSnap(t *testing.T, cs *controllerServer, name, volumeID string) *csi.Snapshot {
	t.Helper()
	resp, err := cs.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID})
	if err != nil {
		t.Fatalf("CreateSnapshot(%s): %v", name, err)
	}
	return resp.GetSnapshot()
}

var mtime = time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)

// populate writes a tree with what writeTar keeps: nested directories,
// modes, an empty file, a file over a block, a symlink, a set mtime.
func populate(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "a.txt"), []byte("hello"), 0o644)
	writeFile(t, filepath.Join(dir, "bin", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	writeFile(t, filepath.Join(dir, "data", "deep", "empty"), nil, 0o600)
	writeFile(t, filepath.Join(dir, "data", "big"), bytes.Repeat([]byte("0123456789abcdef"), 3*mib/16+5), 0o640)
	if err := os.Symlink("../a.txt", filepath.Join(dir, "data", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "a.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "data", "deep"), 0o750); err != nil {
		t.Fatal(err)
	}
}

func wantSameTree(t *testing.T, got, want string) {
	t.Helper()
	g, w := readTree(t, got), readTree(t, want)
	if len(g) != len(w) {
		t.Errorf("restored tree has %d entries, want %d", len(g), len(w))
	}
	for p, v := range w {
		if g[p] != v {
			t.Errorf("%s: restored %.40q, want %.40q", p, g[p], v)
		}
	}
	gt, wt := modTimes(t, got), modTimes(t, want)
	for p, m := range wt {
		if !gt[p].Equal(m) {
			t.Errorf("%s: restored mtime %v, want %v", p, gt[p], m)
		}
	}
}

// modTimes maps each path under root but symlinks to its mtime.
func modTimes(t *testing.T, root string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := e.Info()
		if err == nil {
			rel, _ := filepath.Rel(root, p)
			out[rel] = info.ModTime()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), msg) {
		t.Errorf("got %v, want %v with %q", err, code, msg)
	}
}

// A volume is a managed disk; its snapshot is an incremental ARM snapshot
// whose ID is the handle; a volume from it has the same files.
func TestAzureDiskSnapshotRestoreLocalARM(t *testing.T) {
	w := newAzureWorld(t)
	cs := w.azureController(t, t.TempDir(), "eastus", "east")
	vol := createVol(t, cs, volumeRequest("pvc-1", 16*mib, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER))
	if !strings.HasSuffix(vol.GetVolumeId(), "/resourceGroups/east/providers/Microsoft.Compute/disks/pvc-1") || vol.GetCapacityBytes() != gib {
		t.Fatalf("volume %s of %d bytes, want the 1 GiB disk pvc-1", vol.GetVolumeId(), vol.GetCapacityBytes())
	}
	if again := createVol(t, cs, volumeRequest("pvc-1", 16*mib, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)); again.GetVolumeId() != vol.GetVolumeId() {
		t.Errorf("the same name made %s", again.GetVolumeId())
	}
	src := cs.d.volumeDir(vol.GetVolumeId())
	populate(t, src)

	snap := createSnap(t, cs, "snapshot-1", vol.GetVolumeId())
	s, err := w.snaps.Get(t.Context(), "east", "snapshot-1", nil)
	if err != nil || *s.ID != snap.GetSnapshotId() || !*s.Properties.Incremental || !snap.GetReadyToUse() {
		t.Fatalf("snapshot %s (ready %v): ARM has %+v, %v", snap.GetSnapshotId(), snap.GetReadyToUse(), s.ID, err)
	}
	if again := createSnap(t, cs, "snapshot-1", vol.GetVolumeId()); again.GetSnapshotId() != snap.GetSnapshotId() {
		t.Errorf("the same name made %s", again.GetSnapshotId())
	}
	a := filepath.Join(src, "a.txt")
	writeFile(t, a, []byte("HELLO"), 0o644) // after the snapshot: not in it

	// Read-only access makes a full copy here: Azure has no shallow views.
	req := fromSnapshot(volumeRequest("pvc-2", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY), snap.GetSnapshotId())
	restored := createVol(t, cs, req)
	writeFile(t, a, []byte("hello"), 0o644)
	if err := os.Chtimes(a, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	wantSameTree(t, cs.d.volumeDir(restored.GetVolumeId()), src)
	if again := createVol(t, cs, req); again.GetVolumeId() != restored.GetVolumeId() {
		t.Errorf("the same restore made %s", again.GetVolumeId())
	}

	clone := createVol(t, cs, fromVolume(volumeRequest("pvc-3", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), vol.GetVolumeId()))
	wantSameTree(t, cs.d.volumeDir(clone.GetVolumeId()), src)

	list, err := cs.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{SnapshotId: snap.GetSnapshotId()})
	if err != nil || len(list.GetEntries()) != 1 {
		t.Fatalf("ListSnapshots(%s) = %v, %v", snap.GetSnapshotId(), list, err)
	}
	if e := list.GetEntries()[0].GetSnapshot(); !e.GetReadyToUse() || e.GetSizeBytes() != gib || e.GetSourceVolumeId() != vol.GetVolumeId() {
		t.Errorf("listed %+v", e)
	}
}

func TestAzureDiskCapacityLocalARM(t *testing.T) {
	w := newAzureWorld(t)
	cs := w.azureController(t, t.TempDir(), "eastus", "east")
	req := volumeRequest("small", 16*mib, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER)
	req.CapacityRange.LimitBytes = 16 * mib
	_, err := cs.CreateVolume(t.Context(), req)
	wantStatus(t, err, codes.OutOfRange, "whole GiB")
	vol := createVol(t, cs, volumeRequest("big", gib+1, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER))
	if d, err := w.disks.Get(t.Context(), "east", "big", nil); err != nil || vol.GetCapacityBytes() != 2*gib || *d.Properties.DiskSizeGB != 2 {
		t.Errorf("a volume of 1 GiB + 1 byte is %d bytes (%v)", vol.GetCapacityBytes(), err)
	}
}

// A snapshot copied to westus by CopyStart is a pre-provisioned snapshot
// for a westus driver: ready once copied, restorable there and only there.
// Unchanged files keep their offsets, so the next copy is small.
func TestAzureDiskDRCopyLocalARM(t *testing.T) {
	w := newAzureWorld(t)
	east := w.azureController(t, t.TempDir(), "eastus", "east")
	west := w.azureController(t, t.TempDir(), "westus", "west")
	vol := createVol(t, east, volumeRequest("pvc-1", gib, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER))
	src := east.d.volumeDir(vol.GetVolumeId())
	for i := range 8 {
		writeFile(t, filepath.Join(src, "f", string(rune('a'+i))), bytes.Repeat([]byte{byte(i + 1)}, mib), 0o644)
	}
	drCopy := func(name, snapshotID string) string {
		p, err := w.snaps.BeginCreateOrUpdate(t.Context(), "west", name, armcompute.Snapshot{
			Location: to.Ptr("westus"),
			Properties: &armcompute.SnapshotProperties{Incremental: to.Ptr(true), CreationData: &armcompute.CreationData{
				CreateOption: to.Ptr(armcompute.DiskCreateOptionCopyStart), SourceResourceID: to.Ptr(snapshotID),
			}},
		}, nil)
		s, err := pollDone(t.Context(), p, err)
		if err != nil {
			t.Fatal(err)
		}
		return *s.ID
	}
	copyID := drCopy("dr-1", createSnap(t, east, "snap-1", vol.GetVolumeId()).GetSnapshotId())
	if !waitReady(t, west, copyID) {
		t.Error("the copy was ready at once; want readyToUse only when the copy completes")
	}
	first := w.srv.BytesCopied()

	_, err := east.CreateVolume(t.Context(), fromSnapshot(volumeRequest("pvc-east", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), copyID))
	wantStatus(t, err, codes.InvalidArgument, "same region only")
	restored := createVol(t, west, fromSnapshot(volumeRequest("pvc-west", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), copyID))
	if !strings.Contains(restored.GetVolumeId(), "/resourceGroups/west/") {
		t.Errorf("restored as %s, want a disk in west", restored.GetVolumeId())
	}
	wantSameTree(t, west.d.volumeDir(restored.GetVolumeId()), src)

	writeFile(t, filepath.Join(src, "f", "c"), bytes.Repeat([]byte{9}, mib), 0o644)
	waitReady(t, west, drCopy("dr-2", createSnap(t, east, "snap-2", vol.GetVolumeId()).GetSnapshotId()))
	moved := w.srv.BytesCopied() - first
	t.Logf("the copies moved %d, then %d bytes", first, moved)
	if first < 8*mib || moved > 2*mib {
		t.Errorf("copies moved %d then %d bytes; want all 8 MiB, then at most the 2 blocks one changed file spans", first, moved)
	}
}

// waitReady lists snapshot id until it is ready and reports whether it was
// not ready at first.
func waitReady(t *testing.T, cs *controllerServer, id string) bool {
	t.Helper()
	for i := range 20 {
		list, err := cs.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{SnapshotId: id})
		if err != nil || len(list.GetEntries()) != 1 {
			t.Fatalf("ListSnapshots(%s) = %v, %v", id, list, err)
		}
		if list.GetEntries()[0].GetSnapshot().GetReadyToUse() {
			return i > 0
		}
	}
	t.Fatalf("snapshot %s never became ready", id)
	return false
}

// Deletion removes the ARM resources and the directories; deleting again,
// or what never existed, succeeds.
func TestAzureDiskDeleteLocalARM(t *testing.T) {
	w := newAzureWorld(t)
	cs := w.azureController(t, t.TempDir(), "eastus", "east")
	vol := createVol(t, cs, volumeRequest("pvc-1", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER))
	populate(t, cs.d.volumeDir(vol.GetVolumeId()))
	snap := createSnap(t, cs, "snap-1", vol.GetVolumeId())
	restored := createVol(t, cs, fromSnapshot(volumeRequest("pvc-2", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), snap.GetSnapshotId()))
	for range 2 {
		if _, err := cs.DeleteSnapshot(t.Context(), &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshotId()}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*csi.Volume{vol, restored} {
			if _, err := cs.DeleteVolume(t.Context(), &csi.DeleteVolumeRequest{VolumeId: v.GetVolumeId()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.snaps.Get(t.Context(), "east", "snap-1", nil); !notFound(err) {
		t.Errorf("the snapshot is still in ARM (%v)", err)
	}
	for _, name := range []string{"pvc-1", "pvc-2"} {
		if _, err := w.disks.Get(t.Context(), "east", name, nil); !notFound(err) {
			t.Errorf("disk %s is still in ARM (%v)", name, err)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(cs.d.cfg.DataDir, "volumes")); err != nil || len(entries) != 0 {
		t.Errorf("volume directories left: %v (%v)", entries, err)
	}
	if st := cs.d.st.stats(); st.Volumes != 0 || st.Snapshots != 0 {
		t.Errorf("stats after deletion: %+v", st)
	}
	for _, id := range []string{"no-such-id", "/subscriptions/" + azSub + "/resourceGroups/nope/providers/Microsoft.Compute/snapshots/x"} {
		if _, err := cs.DeleteSnapshot(t.Context(), &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
			t.Errorf("DeleteSnapshot(%s): %v", id, err)
		}
	}
}

// A restarted driver keeps its volumes: state.json maps disk IDs, and the
// directories are named by the IDs' hashes.
func TestAzureDiskRestartLocalARM(t *testing.T) {
	w := newAzureWorld(t)
	dataDir := t.TempDir()
	vol := createVol(t, w.azureController(t, dataDir, "eastus", "east"), volumeRequest("pvc-1", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER))
	cs := w.azureController(t, dataDir, "eastus", "east")
	populate(t, cs.d.volumeDir(vol.GetVolumeId()))
	snap := createSnap(t, cs, "snap-1", vol.GetVolumeId())
	restored := createVol(t, cs, fromSnapshot(volumeRequest("pvc-2", 0, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER), snap.GetSnapshotId()))
	wantSameTree(t, cs.d.volumeDir(restored.GetVolumeId()), cs.d.volumeDir(vol.GetVolumeId()))
	if _, err := os.Stat(filepath.Join(dataDir, "volumes", diskDirName(strings.ToUpper(vol.GetVolumeId())))); err != nil {
		t.Errorf("the volume's directory is not named by its ID's hash: %v", err)
	}
}

func TestARMName(t *testing.T) {
	long := strings.Repeat("x", 128)
	for _, name := range []string{"pvc-1", "snapshot-4b1c", "sanity-Node Service-9F0E", long, "-._", "ü"} {
		got := armName(name)
		if !armNamePattern.MatchString(got) {
			t.Errorf("armName(%q) = %q, which Compute refuses", name, got)
		}
		if armNamePattern.MatchString(name) && got != name {
			t.Errorf("armName(%q) = %q, want the name itself", name, got)
		}
	}
	if armName(long) == armName(long+"y") {
		t.Error("long names that differ share an ARM name")
	}
}

// sanityChildEnv marks the test process TestCSISanityAzureDiskLocalARM
// starts: Ginkgo runs one suite per process, and TestCSISanity runs one.
const sanityChildEnv = "CSIDRIVER_AZURE_SANITY_CHILD"

// TestCSISanityAzureDiskLocalARM runs csi-sanity against the Azure-disk
// personality, in a child process. Managed disks come in whole GiB, so its
// volumes are 1 GiB (sparse in the local ARM). It publishes volumes, so it
// needs root.
func TestCSISanityAzureDiskLocalARM(t *testing.T) {
	requireRoot(t)
	if os.Getenv(sanityChildEnv) == "" {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCSISanityAzureDiskLocalARM$", "-test.count=1")
		cmd.Env = append(os.Environ(), sanityChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("csi-sanity of the azure-disk personality: %v\n%s", err, out)
		}
		return
	}
	w := newAzureWorld(t)
	root := t.TempDir()
	endpoint := serveDriver(t, w.driverConfig(t, filepath.Join(root, "data"), "eastus", "east"))
	unmountOnCleanup(t, root)
	cfg := sanity.NewTestConfig()
	cfg.Address = "passthrough:///" + endpoint // see TestCSISanity
	cfg.DialOptions = []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			var d net.Dialer
			return d.DialContext(ctx, "unix", strings.TrimPrefix(addr, "unix://"))
		}),
	}
	cfg.TargetPath = filepath.Join(root, "target")
	cfg.StagingPath = filepath.Join(root, "staging")
	cfg.TestVolumeSize = gib
	sanity.Test(t, cfg)
}

// serveDriver runs Run with cfg until the test ends and returns its
// endpoint once it serves.
func serveDriver(t *testing.T, cfg Config) string {
	t.Helper()
	endpoint := "unix://" + filepath.Join(t.TempDir(), "csi.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, endpoint) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitForSocket(t, strings.TrimPrefix(endpoint, "unix://"), done)
	return endpoint
}
