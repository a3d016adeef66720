package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

const kopiaModule = "github.com/kopia/kopia"

// kopiaVersion is the kopia module version this program is built with,
// the one go.mod pins.
func kopiaVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == kopiaModule {
				return d.Version
			}
		}
	}

	return "unknown"
}

// buildKopiaCLI builds the kopia CLI from the module version go.mod pins
// (go build runs in the main module, which requires it) into dir.
func buildKopiaCLI(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "kopia")

	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, kopiaModule)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", kopiaModule, err, out)
	}

	return bin, nil
}

// timedCmd runs bin with args and env added to this process's, and
// returns its wall time, CPU time and the other processes' load.
func timedCmd(ctx context.Context, env []string, bin string, args ...string) (measure, []byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)

	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	b0, start := sampleBusy(), time.Now()
	err := cmd.Run()
	m := measure{wall: time.Since(start), others: othersCores(b0, sampleBusy())}

	if cmd.ProcessState != nil {
		m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}

	if err != nil {
		return m, nil, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.Bytes())
	}

	return m, stdout.Bytes(), nil
}

// kopiaCLI runs the kopia CLI with its config, cache, logs and home in dir
// and the password in KOPIA_PASSWORD. Automatic maintenance is off: a
// snapflow export never runs maintenance either.
type kopiaCLI struct {
	bin, dir string
	env      []string
}

func newKopiaCLI(bin, dir, password string) kopiaCLI {
	return kopiaCLI{bin: bin, dir: dir, env: []string{
		"KOPIA_PASSWORD=" + password,
		"KOPIA_CHECK_FOR_UPDATES=false",
		"HOME=" + dir,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}}
}

func (k kopiaCLI) run(ctx context.Context, args ...string) (measure, []byte, error) {
	global := []string{
		"--config-file=" + filepath.Join(k.dir, "repository.config"),
		"--log-dir=" + filepath.Join(k.dir, "logs"),
		"--no-progress", "--no-auto-maintenance",
	}

	return timedCmd(ctx, k.env, k.bin, append(global, args...)...)
}

// create creates a filesystem repository in repoDir with kopia's defaults
// and connects to it.
func (k kopiaCLI) create(ctx context.Context, repoDir string) error {
	_, _, err := k.run(ctx, "repository", "create", "filesystem", "--path="+repoDir,
		"--cache-directory="+filepath.Join(k.dir, "cache"))

	return err
}

// snapshot runs `kopia snapshot create dir`.
func (k kopiaCLI) snapshot(ctx context.Context, dir string) (measure, error) {
	m, _, err := k.run(ctx, "snapshot", "create", dir)
	return m, err
}

// latest is the ID of dir's latest snapshot.
func (k kopiaCLI) latest(ctx context.Context, dir string) (string, error) {
	_, out, err := k.run(ctx, "snapshot", "list", dir, "--json")
	if err != nil {
		return "", err
	}

	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &list); err != nil || len(list) == 0 {
		return "", fmt.Errorf("kopia snapshot list %s: no snapshot in %q (%v)", dir, out, err)
	}

	return list[len(list)-1].ID, nil
}

// restore runs `kopia snapshot restore id dir`.
func (k kopiaCLI) restore(ctx context.Context, id, dir string) (measure, error) {
	m, _, err := k.run(ctx, "snapshot", "restore", id, dir)
	return m, err
}

// restic runs restic on a repository in repo with the password in a file
// and its cache in dir.
type restic struct {
	repo string
	env  []string
}

func newRestic(ctx context.Context, dir, password string) (restic, error) {
	if _, err := exec.LookPath("restic"); err != nil {
		return restic{}, fmt.Errorf("restic is not installed (Debian: apt-get install restic; `make bench` installs it): %w", err)
	}

	pw := filepath.Join(dir, "password")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return restic{}, fmt.Errorf("restic: %w", err)
	}

	if err := os.WriteFile(pw, []byte(password), 0o600); err != nil {
		return restic{}, fmt.Errorf("restic: %w", err)
	}

	r := restic{repo: filepath.Join(dir, "repo"), env: []string{
		"RESTIC_PASSWORD_FILE=" + pw,
		"RESTIC_CACHE_DIR=" + filepath.Join(dir, "cache"),
		"HOME=" + dir,
	}}

	_, _, err := r.run(ctx, "init")

	return r, err
}

func (r restic) run(ctx context.Context, args ...string) (measure, []byte, error) {
	return timedCmd(ctx, r.env, "restic", append([]string{"--repo", r.repo}, args...)...)
}

// backup runs `restic backup dir`.
func (r restic) backup(ctx context.Context, dir string) (measure, error) {
	m, _, err := r.run(ctx, "backup", "--quiet", "--host", "bench", dir)
	return m, err
}

// resticVersion is the first line of `restic version`.
func resticVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "restic", "version").Output()
	if err != nil {
		return "unknown"
	}

	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
