package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPKIChainsAndNames(t *testing.T) {
	k, err := newPKI(t.TempDir(), NodeName)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, k.CACert))
	cases := []struct {
		file    string
		usage   x509.ExtKeyUsage
		dnsName string
	}{
		{k.ServingCert, x509.ExtKeyUsageServerAuth, "kubernetes.default.svc"},
		{k.KubeletCert, x509.ExtKeyUsageServerAuth, NodeName},
		{k.AdminCert, x509.ExtKeyUsageClientAuth, ""},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			c := readCert(t, tc.file)
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.dnsName, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
	if org := readCert(t, k.AdminCert).Subject.Organization; len(org) != 1 || org[0] != "system:masters" {
		t.Errorf("admin organization = %v, want system:masters", org)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckStale uses this test process as the "earlier run": alive and
// running the recorded binary. A PID file of a dead process is removed.
func TestCheckStale(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	if err := os.MkdirAll(pids, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, pid int, bin string) string {
		p := filepath.Join(pids, name+".pid")
		if err := os.WriteFile(p, []byte(fmt.Sprintf("%d\n%s\n", pid, bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := write("etcd", 1<<22+1, "/nonexistent/etcd") // beyond pid_max
	if err := checkStale(dir); err != nil {
		t.Fatalf("stale PID file of a dead process: %v", err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("stale PID file not removed")
	}
	write("kube-apiserver", os.Getpid(), "/other/binary")
	if err := checkStale(dir); err != nil {
		t.Fatalf("a reused PID running another binary is not ours: %v", err)
	}
	write("kube-apiserver", os.Getpid(), self)
	err = checkStale(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("kube-apiserver (pid %d)", os.Getpid())) {
		t.Fatalf("err = %v, want it to name the running component", err)
	}
}

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tailFile(p, 2); got != "c\nd" {
		t.Errorf("tail = %q", got)
	}
}
