package repository

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestKopiaCLIReadsOurRepository shows that users are never locked in: the
// stock kopia CLI, built from the module version snapflow pins, connects to
// a repository this package wrote, lists its snapshots and restore points
// and restores a snapshot byte for byte. Building the CLI takes minutes
// cold and seconds warm, so -short skips it.
func TestKopiaCLIReadsOurRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kopia CLI")
	}

	kopia := buildKopiaCLI(t)

	loc := fsLocation(t)
	rep := openRepo(t, testStorage(t, loc, Credentials{Password: testPassword}, true), testPassword)
	src := t.TempDir()
	makeTree(t, src, 11)

	res, err := Upload(t.Context(), rep, src, testSource("data-db-0"), 2, nil)
	if err != nil {
		t.Fatal(err)
	}

	rpID := putRestorePoint(t, rep, RestorePoint{Action: "export", Snapshots: map[string]string{"data-db-0": res.SnapshotID}})

	cli := newKopiaCLI(t, kopia)
	cli.run("repository", "connect", "filesystem", "--path="+filepath.Join(loc.Path, loc.Prefix), "--cache-directory="+t.TempDir())

	var list []struct {
		ID     string `json:"id"`
		Source struct {
			Host, UserName, Path string
		} `json:"source"`
	}
	if err := json.Unmarshal(cli.run("snapshot", "list", "--all", "--json"), &list); err != nil {
		t.Fatalf("parse snapshot list: %v", err)
	}

	if len(list) != 1 || list[0].ID != res.SnapshotID || list[0].Source.Path != "data-db-0" {
		t.Fatalf("kopia snapshot list = %+v, want only %s of data-db-0", list, res.SnapshotID)
	}

	if out := cli.run("manifest", "list", "--filter=type:"+RestorePointType); !bytes.Contains(out, []byte(rpID)) {
		t.Errorf("kopia manifest list does not show restore point %s:\n%s", rpID, out)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	cli.run("snapshot", "restore", res.SnapshotID, dst)

	if diff := cmp.Diff(treeManifest(t, src), treeManifest(t, dst)); diff != "" {
		t.Errorf("tree restored by the kopia CLI differs (-want +got):\n%s", diff)
	}
}

// buildKopiaCLI builds github.com/kopia/kopia at the version go.mod pins.
func buildKopiaCLI(t *testing.T) string {
	t.Helper()

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the kopia CLI: %v", err)
	}

	bin := filepath.Join(t.TempDir(), "kopia")
	start := time.Now()

	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "github.com/kopia/kopia")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build github.com/kopia/kopia: %v\n%s", err, out)
	}

	t.Logf("built the kopia CLI in %v", time.Since(start).Round(time.Second))

	return bin
}

// kopiaCLI runs the kopia CLI with its config, logs and home in temp dirs
// and the password in KOPIA_PASSWORD.
type kopiaCLI struct {
	t         *testing.T
	bin, dir  string
	extraEnvs []string
}

func newKopiaCLI(t *testing.T, bin string) *kopiaCLI {
	dir := t.TempDir()

	return &kopiaCLI{t: t, bin: bin, dir: dir, extraEnvs: []string{
		"KOPIA_PASSWORD=" + testPassword,
		"KOPIA_CHECK_FOR_UPDATES=false",
		"HOME=" + dir,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}}
}

func (k *kopiaCLI) run(args ...string) []byte {
	k.t.Helper()

	global := []string{"--config-file=" + filepath.Join(k.dir, "repository.config"), "--log-dir=" + filepath.Join(k.dir, "logs")}
	cmd := exec.CommandContext(k.t.Context(), k.bin, append(global, args...)...)
	cmd.Env = append(os.Environ(), k.extraEnvs...)

	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	out, err := cmd.Output()
	if err != nil {
		k.t.Fatalf("kopia %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	return out
}
