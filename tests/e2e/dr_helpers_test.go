//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
	"github.com/snapflow/snapflow/engine/controller"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
	"github.com/snapflow/snapflow/tests/localarm"
)

// region is one of the DR pair's clusters (east or west) and its
// clients; both share Azurite and the local Azure Resource Manager.
type region struct {
	c    *cluster.Cluster
	kube kubernetes.Interface
	dyn  dynamic.Interface
	cl   client.Client
}

// drPair is the shared services and the two named clusters, started once
// for the DR tests of this binary.
var drPair struct {
	sync.Once
	shared     *cluster.Shared
	east, west *region
	err        error
}

// startDRPair starts the shared services and the east and west clusters,
// stopped when the test binary ends (TestMain stops what env.stopDR says).
func startDRPair(t *testing.T) (*cluster.Shared, *region, *region) {
	t.Helper()
	drPair.Do(func() {
		local := filepath.Join(env.tmp, "snapflow-local")
		sh, err := cluster.StartShared(t.Context(), cluster.SharedOptions{Dir: filepath.Join(env.tmp, "shared"), Binaries: env.bins, LocalExe: local, Progress: os.Stderr})
		if err != nil {
			drPair.err = fmt.Errorf("shared services: %w", err)
			return
		}
		drPair.shared = sh
		env.stopDR = append(env.stopDR, sh.Stop)
		for _, r := range []struct {
			name, region string
			out          **region
		}{{"east", "eastus", &drPair.east}, {"west", "westus", &drPair.west}} {
			c, err := cluster.Start(t.Context(), cluster.Options{Dir: filepath.Join(env.tmp, r.name), Binaries: env.bins, LocalExe: local,
				Name: r.name, Region: r.region, Shared: &sh.SharedInfo, Progress: os.Stderr})
			if c != nil {
				env.stopDR = append(env.stopDR, c.Stop)
			}
			if err != nil {
				drPair.err = fmt.Errorf("cluster %s: %w", r.name, err)
				return
			}
			if *r.out, err = newRegion(t.Context(), c); err != nil {
				drPair.err = fmt.Errorf("cluster %s: %w", r.name, err)
				return
			}
		}
	})
	if drPair.err != nil {
		t.Fatal(drPair.err)
	}
	return drPair.shared, drPair.east, drPair.west
}

func newRegion(ctx context.Context, c *cluster.Cluster) (*region, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	r := &region{c: c}
	if r.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if r.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	scheme, err := controller.Scheme()
	if err != nil {
		return nil, err
	}
	if r.cl, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	return r, installCRDs(ctx, r.dyn, filepath.Join("..", "..", "schema", "crds"))
}

// namespace creates ns in r with the runner granted everywhere (the DR
// restore creates the app's namespace).
func (r *region) namespace(t *testing.T, ns string) {
	t.Helper()
	if _, err := r.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "default service account in "+ns, func(ctx context.Context) (bool, error) {
		_, err := r.kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	access := plugin.RunnerAccess{Namespace: ns, ServiceAccount: v1alpha1.DefaultServiceAccountName, AnyTargetNamespace: true, ClusterWrites: true}
	for _, obj := range plugin.RunnerRBAC(access) {
		if err := r.cl.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// kubectl runs kubectl (with the plugin on PATH) against r.
func (r *region) kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.bins.Kubectl, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+r.c.Kubeconfig, "PATH="+pluginPATH(t))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s (%s): %v\n%s%s", strings.Join(args, " "), r.c.Name, err, out.String(), errb.String())
	}
	return out.String()
}

// drController is a `snapflow controller` process against one region.
type drController struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// kill stops the controller with SIGKILL and waits until it has gone.
func (c *drController) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// controller runs `snapflow controller` against r for namespace ns, with
// the local Azure Resource Manager as its Azure cloud; its log is scanned
// for secrets when the test ends.
func (r *region) controller(t *testing.T, sh *cluster.Shared, ns string, secrets ...string) *drController {
	t.Helper()
	bin, err := snapflowBinary()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.CreateTemp(t.TempDir(), "controller-"+r.c.Name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "controller", "--kubeconfig", r.c.Kubeconfig, "--namespaces", ns,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--mover-image", "snapflow", "--mover-command", bin,
		"--azure-resource-manager", sh.ARMURL, "--azure-audience", cluster.ARMAudience,
		"--azure-authority-host", sh.ARMURL+"/", "--azure-ca-file", sh.CAFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &drController{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.kill()
		out, _ := os.ReadFile(logFile.Name())
		for _, leak := range leakedIn(string(out), append([]string{sh.ClientSecret, repoPassword}, secrets...)) {
			t.Errorf("%s appears in the log of the %s controller", leak, r.c.Name)
		}
	})
	return c
}

// drAzure is the test's own view of the local Azure Resource Manager, as
// the shared service principal.
type drAzure struct {
	sh    *cluster.Shared
	cloud function.AzureCloud
	cred  azcore.TokenCredential
}

func newDRAzure(t *testing.T, sh *cluster.Shared) *drAzure {
	t.Helper()
	pem, err := os.ReadFile(sh.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	a := &drAzure{sh: sh, cloud: function.AzureCloud{ResourceManager: sh.ARMURL, Audience: cluster.ARMAudience, AuthorityHost: sh.ARMURL + "/", HTTPClient: hc}}
	a.cred, err = azuredisk.Credential(a.cloud, map[string][]byte{
		azuredisk.KeyTenantID: []byte(sh.TenantID), azuredisk.KeyClientID: []byte(sh.ClientID), azuredisk.KeyClientSecret: []byte(sh.ClientSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// control calls the local ARM's test-control endpoint with query and
// decodes its answer into out (nil: none).
func (a *drAzure) control(t *testing.T, method, query string, out any) {
	t.Helper()
	tok, err := a.cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(cluster.ARMAudience, "/") + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.sh.ARMURL+localarm.ControlPath+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := a.cloud.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 || (out != nil && json.NewDecoder(resp.Body).Decode(out) != nil) {
		t.Fatalf("local ARM control %s %s: %s", method, query, resp.Status)
	}
}

// copyBytes is what the local ARM says copy id moved.
func (a *drAzure) copyBytes(t *testing.T, id string) int64 {
	t.Helper()
	var body struct{ Bytes int64 }
	a.control(t, http.MethodGet, "copy="+url.QueryEscape(id), &body)
	return body.Bytes
}

// throttled is how many requests the local ARM answered 429 so far.
func (a *drAzure) throttled(t *testing.T) int {
	t.Helper()
	var body struct{ Throttled int }
	a.control(t, http.MethodGet, "stats", &body)
	return body.Throttled
}

// deleteSnapshot deletes snapshot id (the source of a copy that runs).
func (a *drAzure) deleteSnapshot(t *testing.T, id string) {
	t.Helper()
	r, err := azuredisk.ParseSnapshotID(id)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azuredisk.Snapshots(a.cloud, r.SubscriptionID, a.cred)
	if err != nil {
		t.Fatal(err)
	}
	if err := (azuredisk.Copier{Snapshots: client, Poll: time.Second}).Delete(t.Context(), azuredisk.Target{Subscription: r.SubscriptionID, ResourceGroup: r.ResourceGroupName, Name: r.Name}); err != nil {
		t.Fatal(err)
	}
}

// drSnapshots counts the snapshots in the DR resource group.
func (a *drAzure) drSnapshots(t *testing.T) int {
	t.Helper()
	client, err := azuredisk.Snapshots(a.cloud, a.sh.SubscriptionID, a.cred)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for pager := client.NewListByResourceGroupPager(cluster.DRResourceGroup, nil); pager.More(); {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	return n
}

// finished waits until ActionSet ns/name of r ends.
func (r *region) finished(t *testing.T, ns, name string) *v1alpha1.ActionSet {
	t.Helper()
	return waitActionSet(t, r.cl, client.ObjectKey{Namespace: ns, Name: name}, "final", func(as *v1alpha1.ActionSet) bool {
		return as.Status.State.Final()
	})
}

// get reads ActionSet ns/name of r.
func (r *region) get(t *testing.T, ns, name string) *v1alpha1.ActionSet {
	t.Helper()
	as := &v1alpha1.ActionSet{}
	if err := r.cl.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, as); err != nil {
		t.Fatal(err)
	}
	return as
}

// appPod waits for basic-app's running pod in ns of r.
func (r *region) appPod(t *testing.T, ns string) string {
	t.Helper()
	return appPodOf(t, r.kube, r.c.Name, ns)
}

// exec runs a shell script in basic-app's container.
func (r *region) exec(t *testing.T, ns, pod, script string) string {
	t.Helper()
	return r.kubectl(t, "", "exec", "-n", ns, pod, "-c", "app", "--", "sh", "-c", script)
}

// drLocation creates, in ns of r, the azure Location "dr" on the shared
// Azurite's westus account (same container in both clusters) and the
// Secret with the service principal crossRegionCopy acts as.
func (r *region) drLocation(t *testing.T, sh *cluster.Shared, ns, container string) {
	t.Helper()
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dr-credentials"},
			StringData: map[string]string{"azureStorageAccount": "westus", "azureStorageKey": sh.AzuriteAccounts["westus"]}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dr-password"}, StringData: map[string]string{"password": repoPassword}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure"}, StringData: map[string]string{
			"azureTenantID": sh.TenantID, "azureClientID": sh.ClientID, "azureClientSecret": sh.ClientSecret}},
	} {
		if _, err := r.kube.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	loc := &v1alpha1.Location{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dr"},
		Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Endpoint: sh.AzuriteEndpoint + "/westus",
			Container: container, Prefix: "dr",
			CredentialsSecretRef:        &v1alpha1.SecretReference{Name: "dr-credentials"},
			RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: "dr-password"}},
	}
	if err := r.cl.Create(t.Context(), loc); err != nil {
		t.Fatal(err)
	}
}

// libraryBlueprint creates library blueprint name in ns of r.
func (r *region) libraryBlueprint(t *testing.T, ns, name string) {
	t.Helper()
	data, err := os.ReadFile(repoPath("blueprints", name, "blueprint.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cl.Create(t.Context(), blueprint(t, ns, string(data))); err != nil {
		t.Fatal(err)
	}
}
