package csidriver

import (
	"path/filepath"
	"testing"

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
	cfg.Address = td.endpoint
	cfg.TargetPath = filepath.Join(root, "target")
	cfg.StagingPath = filepath.Join(root, "staging")
	cfg.TestVolumeSize = 16 << 20
	sanity.Test(t, cfg)
}
