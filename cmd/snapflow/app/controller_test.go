package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

func TestControllerUsage(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "bad concurrency", args: []string{"controller", "--kubeconfig", kc, "--concurrency", "0"},
			wantErr: "error: --concurrency must be at least 1, got 0\nRun 'snapflow controller --help' for usage.\n"},
		{name: "missing kubeconfig", args: []string{"controller", "--kubeconfig", filepath.Join(t.TempDir(), "nope")},
			wantErr: "error: cluster configuration: "},
		{name: "arguments", args: []string{"controller", "extra"},
			wantErr: "error: unknown command \"extra\" for \"snapflow controller\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := snapflow(t, tc.args...)
			if got.code != cli.ExitUsage || !strings.HasPrefix(got.errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr starting %q", got.code, got.errOut, cli.ExitUsage, tc.wantErr)
			}
		})
	}
}
