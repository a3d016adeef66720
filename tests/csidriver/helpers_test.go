package csidriver

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/util/wait"
)

const mib = 1 << 20

// testDriver is a driver served by Run on a socket in a temp dir.
type testDriver struct {
	dataDir  string
	endpoint string
	conn     *grpc.ClientConn
	ctrl     csi.ControllerClient
	node     csi.NodeClient
	stop     func()
}

// startDriver runs the driver on dataDir until the test ends or stop is
// called, and waits until it answers Probe.
func startDriver(t *testing.T, dataDir string) *testDriver {
	t.Helper()
	endpoint := "unix://" + filepath.Join(t.TempDir(), "csi.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{
		Name: "csi.snapflow.dev", NodeID: "node-1", DataDir: dataDir, Version: "v0.0.0-test",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, endpoint) }()
	waitForSocket(t, strings.TrimPrefix(endpoint, "unix://"), done)
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", endpoint, err)
	}
	stop := sync.OnceFunc(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(stop)
	probeCtx, cancelProbe := context.WithTimeout(ctx, 10*time.Second)
	defer cancelProbe()
	if _, err := csi.NewIdentityClient(conn).Probe(probeCtx, &csi.ProbeRequest{}, grpc.WaitForReady(true)); err != nil {
		stop()
		t.Fatalf("probe: %v", err)
	}
	return &testDriver{dataDir: dataDir, endpoint: endpoint, conn: conn, ctrl: csi.NewControllerClient(conn), node: csi.NewNodeClient(conn), stop: stop}
}

// errRunReturned stops waitForSocket's polling when Run returns early.
var errRunReturned = errors.New("Run returned")

// waitForSocket waits until Run listens, so the first dial succeeds rather
// than backing off for a second.
func waitForSocket(t *testing.T, path string, done chan error) {
	t.Helper()
	var runErr error
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		select {
		case runErr = <-done:
			return false, errRunReturned
		default:
		}
		_, err := os.Stat(path)
		return err == nil, nil
	})
	if errors.Is(err, errRunReturned) {
		t.Fatalf("Run returned before serving: %v", runErr)
	}
	if err != nil {
		t.Fatalf("no socket at %s after 10s: %v", path, err)
	}
}

// testWriter sends the driver's log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func mountCap(mode csi.VolumeCapability_AccessMode_Mode) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

func volumeRequest(name string, size int64, modes ...csi.VolumeCapability_AccessMode_Mode) *csi.CreateVolumeRequest {
	req := &csi.CreateVolumeRequest{Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: size}}
	for _, m := range modes {
		req.VolumeCapabilities = append(req.VolumeCapabilities, mountCap(m))
	}
	return req
}

func fromSnapshot(req *csi.CreateVolumeRequest, id string) *csi.CreateVolumeRequest {
	req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id},
	}}
	return req
}

func fromVolume(req *csi.CreateVolumeRequest, id string) *csi.CreateVolumeRequest {
	req.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
		Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id},
	}}
	return req
}

func (td *testDriver) mustCreateVolume(t *testing.T, req *csi.CreateVolumeRequest) *csi.Volume {
	t.Helper()
	resp, err := td.ctrl.CreateVolume(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateVolume(%s): %v", req.GetName(), err)
	}
	return resp.GetVolume()
}

func (td *testDriver) mustSnapshot(t *testing.T, name, volumeID string) *csi.Snapshot {
	t.Helper()
	resp, err := td.ctrl.CreateSnapshot(context.Background(), &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID})
	if err != nil {
		t.Fatalf("CreateSnapshot(%s): %v", name, err)
	}
	return resp.GetSnapshot()
}

func (td *testDriver) stats(t *testing.T) Stats {
	t.Helper()
	s, err := ReadStats(td.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (td *testDriver) volumePath(id string, elem ...string) string {
	return filepath.Join(append([]string{td.dataDir, "volumes", id}, elem...)...)
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// readTree maps each path under root to its mode and content.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = info.Mode().String()
		if e.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] += " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return out
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("got code %v (%v), want %v", got, err, want)
	}
}

// unmountOnCleanup unmounts anything still mounted under root when the test
// ends, deepest first, so no mount outlives the test's temp dirs.
func unmountOnCleanup(t *testing.T, root string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		points, err := mountPoints()
		if err != nil {
			t.Error(err)
			return
		}
		var under []string
		for _, p := range points {
			if strings.HasPrefix(p, root+string(filepath.Separator)) {
				under = append(under, p)
			}
		}
		slices.SortFunc(under, func(a, b string) int { return len(b) - len(a) })
		for _, p := range under {
			t.Errorf("%s was left mounted", p)
			if err := unmountAll(p); err != nil {
				t.Error(err)
			}
		}
	})
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root (CAP_SYS_ADMIN)")
	}
}
