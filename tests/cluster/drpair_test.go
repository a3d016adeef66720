//go:build e2e

// These tests start real processes (Azurite, the local ARM, two clusters),
// so they run only with -tags e2e:
//
//	go test -tags e2e -run 'TestSharedServices|TestDRPair' -v ./tests/cluster/
package cluster

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// harness finds the binaries and builds snapflow-local, as e2e's TestMain.
func harness(t *testing.T) (Binaries, string) {
	t.Helper()
	bins, err := FindBinaries(CacheDir())
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "snapflow-local")
	out, err := exec.Command("go", "build", "-o", local, "github.com/snapflow/snapflow/cmd/snapflow-local").CombinedOutput()
	if err != nil {
		t.Fatalf("build snapflow-local: %v\n%s", err, out)
	}
	return bins, local
}

func startShared(t *testing.T, bins Binaries, local string) *Shared {
	t.Helper()
	sh, err := StartShared(t.Context(), SharedOptions{Dir: filepath.Join(t.TempDir(), "shared"), Binaries: bins, LocalExe: local, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(sh.Logs(30))
		}
		sh.Stop()
	})
	return sh
}

// TestSharedServices drives the local ARM as the azure-disk driver will:
// EnvironmentCredential from AzureCredentialEnv, over TLS trusting CAFile;
// granting access to a disk writes a page blob to the shared Azurite.
func TestSharedServices(t *testing.T) {
	bins, local := harness(t)
	start := time.Now()
	sh := startShared(t, bins, local)
	t.Logf("shared services ready in %s", time.Since(start).Round(10*time.Millisecond))
	checkSharedState(t, sh)
	again, err := EnsureShared(t.Context(), SharedOptions{Dir: sh.Dir, Binaries: bins, LocalExe: local})
	if err != nil || again.ARMURL != sh.ARMURL {
		t.Fatalf("EnsureShared on running services = %s, %v; want the running %s", again.ARMURL, err, sh.ARMURL)
	}
	disks, hc := armDisks(t, sh.SharedInfo)
	ctx := t.Context()
	fast := &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond}
	rg := ResourceGroupFor("eastus")
	dp, err := disks.BeginCreateOrUpdate(ctx, rg, "d1", armcompute.Disk{Location: to.Ptr("eastus"), Properties: &armcompute.DiskProperties{
		DiskSizeGB: to.Ptr[int32](1), CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
	}}, nil)
	if err != nil {
		t.Fatalf("create a disk: %v", err)
	}
	if _, err := dp.PollUntilDone(ctx, fast); err != nil {
		t.Fatalf("create a disk: %v", err)
	}
	gp, err := disks.BeginGrantAccess(ctx, rg, "d1", armcompute.GrantAccessData{
		Access: to.Ptr(armcompute.AccessLevelRead), DurationInSeconds: to.Ptr[int32](600),
	}, nil)
	if err != nil {
		t.Fatalf("grant access: %v", err)
	}
	grant, err := gp.PollUntilDone(ctx, fast)
	if err != nil {
		t.Fatalf("grant access: %v", err)
	}
	sasURL := *grant.AccessSAS
	if !strings.HasPrefix(sasURL, sh.AzuriteEndpoint+"/eastus/") {
		t.Errorf("SAS %s is not on the shared Azurite's eastus account", strings.Split(sasURL, "?")[0])
	}
	checkBlob(t, hc, sasURL)
}

// checkSharedState: shared.json is private, no secret on the ARM's
// command line.
func checkSharedState(t *testing.T, sh *Shared) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(sh.Dir, "shared.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("shared.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	for _, p := range sh.procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "cmdline"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cmdline), sh.ClientSecret) || strings.Contains(string(cmdline), sh.AzuriteAccounts["westus"]) {
			t.Errorf("%s has a secret on its command line", p.name)
		}
	}
}

// armDisks is a disks client with the credential the CSI driver gets.
func armDisks(t *testing.T, sh SharedInfo) (*armcompute.DisksClient, *http.Client) {
	t.Helper()
	for _, kv := range AzureCredentialEnv(sh) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	hc, err := caClient(sh.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	hc.Timeout = 30 * time.Second
	co := azcore.ClientOptions{Transport: hc}
	cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{
		ClientOptions: co, DisableInstanceDiscovery: true, // instance discovery asks login.microsoftonline.com
	})
	if err != nil {
		t.Fatal(err)
	}
	co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: sh.ARMURL + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: sh.ARMURL, Audience: ARMAudience},
	}}
	disks, err := armcompute.NewDisksClient(sh.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: co, DisableRPRegistration: true})
	if err != nil {
		t.Fatal(err)
	}
	return disks, hc
}

// checkBlob reads the VHD footer's first bytes through the SAS.
func checkBlob(t *testing.T, hc *http.Client, sasURL string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, sasURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-range", "bytes=0-511")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent && resp.StatusCode != http.StatusOK {
		t.Errorf("GET the SAS: %s", resp.Status)
	}
}

// TestDRPair starts the shared services and two named clusters side by
// side, as the DR e2e test will.
func TestDRPair(t *testing.T) {
	bins, local := harness(t)
	help, _ := exec.Command(local, "csi-driver", "--help").CombinedOutput()
	if !strings.Contains(string(help), "--personality") {
		t.Skip("snapflow-local csi-driver has no --personality yet (the azure-disk personality is being added to tests/csidriver)")
	}
	start := time.Now()
	sh := startShared(t, bins, local)
	for _, c := range []struct{ name, region string }{{"east", "eastus"}, {"west", "westus"}} {
		c := startNamed(t, bins, local, &sh.SharedInfo, c.name, c.region)
		checkNamed(t, c)
	}
	t.Logf("shared services and two clusters ready in %s", time.Since(start).Round(100*time.Millisecond))
}

func startNamed(t *testing.T, bins Binaries, local string, sh *SharedInfo, name, region string) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), Options{Dir: filepath.Join(t.TempDir(), "cluster-"+name), Binaries: bins, LocalExe: local,
		Progress: os.Stderr, Name: name, Region: region, Shared: sh})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs(30))
		}
		c.Stop()
	})
	return c
}

func checkNamed(t *testing.T, c *Cluster) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	node, err := kube.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: node: %v", c.Name, err)
	}
	ready := false
	for _, cond := range node.Status.Conditions {
		ready = ready || cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue
	}
	if !ready {
		t.Errorf("%s: node %s not Ready", c.Name, c.NodeName)
	}
	sc, err := kube.StorageV1().StorageClasses().Get(ctx, AzureStorageClass, metav1.GetOptions{})
	if err != nil || sc.Provisioner != AzureDiskDriver {
		t.Errorf("%s: StorageClass %s: %v", c.Name, AzureStorageClass, err)
	}
}
