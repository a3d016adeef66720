package csidriver

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
)

// TestCSISanity runs the CSI community's conformance suite (csi-sanity)
// against the driver. It publishes volumes, so it needs root.
func TestCSISanity(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	td := startDriver(t, filepath.Join(root, "data"))
	unmountOnCleanup(t, root)

	cfg := sanity.NewTestConfig()
	// csi-test v5.4.0's utils.Connect waits for the connection's state to
	// change from the state it reads after dialing; over a local socket the
	// connection can already be Ready by then, and it waits out its whole
	// minute. A "passthrough" address makes it use our dialer instead of its
	// own, and ours answers only after a moment, so the state it reads is
	// Connecting and the change to Ready is seen.
	cfg.Address = "passthrough:///" + td.endpoint
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
	cfg.TestVolumeSize = 16 << 20
	sanity.Test(t, cfg)
}
