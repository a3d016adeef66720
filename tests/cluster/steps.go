package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AzuriteAccounts are the storage accounts Azurite serves, standing for two
// regions of one cloud.
var AzuriteAccounts = []string{"eastus", "westus"}

func (s *starter) startEtcd(ctx context.Context) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/health", s.ports.Etcd)
	return s.run(ctx, compEtcd, s.o.Binaries.Etcd, etcdArgs(s.dir, s.ports), nil, httpReady(url, `"health":"true"`))
}

func (s *starter) startAzurite(ctx context.Context) error {
	s.c.AzuriteEndpoint = fmt.Sprintf("http://127.0.0.1:%d", s.ports.Azurite)
	s.c.AzuriteAccounts = map[string]string{}
	var accounts []string
	for _, name := range AzuriteAccounts {
		key := make([]byte, 64)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		s.c.AzuriteAccounts[name] = base64.StdEncoding.EncodeToString(key)
		accounts = append(accounts, name+":"+s.c.AzuriteAccounts[name])
	}
	if err := os.MkdirAll(s.dir+"/azurite", 0o755); err != nil {
		return err
	}
	env := []string{"AZURITE_ACCOUNTS=" + strings.Join(accounts, ";")}
	return s.run(ctx, compAzurite, s.o.Binaries.AzuriteBlob, azuriteArgs(s.dir, s.ports), env, tcpReady(s.ports.Azurite))
}

func (s *starter) startAPIServer(ctx context.Context) error {
	return s.run(ctx, compAPIServer, s.o.Binaries.APIServer, apiServerArgs(s.pki, s.ports), nil,
		func(ctx context.Context) (bool, error) {
			body, err := s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err == nil && string(body) == "ok", nil
		})
}

func (s *starter) startControllers(ctx context.Context) error {
	if err := s.run(ctx, compControllerManager, s.o.Binaries.ControllerManager,
		controllerManagerArgs(s.pki, s.c.Kubeconfig, s.ports), nil,
		httpReady(fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports.ControllerManager), "ok")); err != nil {
		return err
	}
	return s.run(ctx, compScheduler, s.o.Binaries.Scheduler, schedulerArgs(s.c.Kubeconfig, s.ports), nil,
		httpReady(fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports.Scheduler), "ok"))
}

func (s *starter) startCSI(ctx context.Context) error {
	if err := os.MkdirAll(s.dir+"/csi", 0o755); err != nil {
		return err
	}
	sock := csiSocket(s.dir)
	args, env := s.csiDriverCommand()
	if err := s.run(ctx, compCSIDriver, s.o.LocalExe, args, env, fileReady(sock)); err != nil {
		return err
	}
	b := s.o.Binaries
	if err := s.run(ctx, compProvisioner, b.Provisioner, sidecarArgs(s.dir, s.c.Kubeconfig, s.ports.Provisioner), nil,
		tcpReady(s.ports.Provisioner)); err != nil {
		return err
	}
	if err := s.run(ctx, compSnapshotController, b.SnapshotController, []string{
		"--kubeconfig=" + s.c.Kubeconfig, "--leader-election=false",
		"--http-endpoint=127.0.0.1:" + strconv.Itoa(s.ports.SnapshotController),
	}, nil, tcpReady(s.ports.SnapshotController)); err != nil {
		return err
	}
	return s.run(ctx, compSnapshotter, b.Snapshotter, sidecarArgs(s.dir, s.c.Kubeconfig, s.ports.Snapshotter), nil,
		tcpReady(s.ports.Snapshotter))
}

func (s *starter) startNode(ctx context.Context) error {
	return s.run(ctx, compNode, s.o.LocalExe, nodeArgs(s.dir, s.c.Kubeconfig, s.c.NodeName, s.c.CSIDriver, s.pki, s.ports), nil,
		func(ctx context.Context) (bool, error) {
			n, err := s.client.CoreV1().Nodes().Get(ctx, s.c.NodeName, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
}

// httpReady reports whether url answers 200 with a body containing want.
// Certificates are not verified: this only asks whether a local component
// is serving yet.
func httpReady(url, want string) func(context.Context) (bool, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // readiness probe of a local process
	}}
	return func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), want), nil
	}
}

func fileReady(path string) func(context.Context) (bool, error) {
	return func(context.Context) (bool, error) {
		_, err := os.Stat(path)
		return err == nil, nil
	}
}
