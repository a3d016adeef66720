package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/snapflow/snapflow/tests/cluster"
)

// azuriteAccount is the storage account the benchmark's Azurite serves.
const azuriteAccount = "bench"

// azuriteBin is where `make cluster-tools` (tests/cluster/tools/build.sh)
// installs azurite-blob.
func azuriteBin() string {
	return filepath.Join(cluster.AzuriteDir(cluster.CacheDir()), "node_modules", ".bin", "azurite-blob")
}

// azurite is an Azurite blob service this program started, storing its
// data in a directory.
type azurite struct {
	cmd      *exec.Cmd
	done     chan struct{}
	endpoint string // http://127.0.0.1:PORT/<account>
	key      string // the account's shared key
}

// startAzurite starts bin on a free local port with its data and log in
// dir, and waits until it accepts connections. The account key goes to
// Azurite in its environment.
func startAzurite(ctx context.Context, bin, dir string) (*azurite, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("azurite: %w (install it with `bash tests/cluster/tools/build.sh azurite` or `make cluster-tools`)", err)
	}

	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}

	key := make([]byte, 64)
	_, _ = rand.Read(key) // crypto/rand.Read never fails

	a := &azurite{
		done:     make(chan struct{}),
		endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, azuriteAccount),
		key:      base64.StdEncoding.EncodeToString(key),
	}

	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}

	log, err := os.Create(filepath.Join(dir, "azurite.log"))
	if err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	defer log.Close()

	a.cmd = exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", filepath.Join(dir, "data"), "--skipApiVersionCheck", "--loose", "--disableTelemetry")
	a.cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+azuriteAccount+":"+a.key)
	a.cmd.Stdout, a.cmd.Stderr = log, log

	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start azurite: %w", err)
	}

	go func() {
		_ = a.cmd.Wait()
		close(a.done)
	}()

	if err := a.waitReady(ctx, port); err != nil {
		a.stop()
		return nil, fmt.Errorf("azurite (log %s): %w", log.Name(), err)
	}

	return a, nil
}

func (a *azurite) waitReady(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			return c.Close()
		}

		select {
		case <-a.done:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop ends Azurite: SIGTERM, then SIGKILL after 10 s.
func (a *azurite) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)

	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// cpu is the user and system CPU time Azurite has used so far.
func (a *azurite) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("azurite cpu time: %w", err)
	}

	// Fields after the command name, which is in parentheses: state is
	// the first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("azurite cpu time: short /proc stat %q", b)
	}

	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("azurite cpu time: %w", err)
	}

	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// freePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()

	return l.Addr().(*net.TCPAddr).Port, nil
}
