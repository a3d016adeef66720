package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/snapflow/snapflow/tests/localarm"
)

// The local Azure Resource Manager the DR pair shares (`snapflow-local
// arm`, a tests/localarm Server). The IDs are fixed and obviously fake, so
// tests and resource IDs read the same every run; only the secret varies.
const (
	SubscriptionID = "00000000-5eed-4000-8000-00000000000a"
	TenantID       = "00000000-5eed-4000-8000-00000000000b"
	ClientID       = "00000000-5eed-4000-8000-00000000000c"
	// DRResourceGroup, in westus, is where cross-region copies land.
	DRResourceGroup = "snapflow-dr"
	// ARMAudience is the token audience the local ARM is asked for, the
	// public cloud's (the stand-in does not check it).
	ARMAudience = "https://management.core.windows.net/"
)

// Environment of `snapflow-local arm`: secrets travel here, never on its
// command line.
const (
	// EnvARMClients holds the service principals, "tenant:client:secret;...".
	EnvARMClients = "SNAPFLOW_ARM_CLIENTS"
	// EnvARMAccountKeys holds the storage account keys, "name:key;...".
	EnvARMAccountKeys = "SNAPFLOW_ARM_ACCOUNT_KEYS"
)

const compARM = "arm"

// ResourceGroupFor is the resource group a named cluster in region uses.
func ResourceGroupFor(region string) string { return "snapflow-" + region }

// ResourceGroup is a resource group of the local ARM.
type ResourceGroup struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// ID is the group's ARM resource ID.
func (g ResourceGroup) ID() string {
	return "/subscriptions/" + SubscriptionID + "/resourceGroups/" + g.Name
}

// sharedResourceGroups: one per region for the clusters' disks, and the
// DR target in westus.
func sharedResourceGroups() []ResourceGroup {
	var out []ResourceGroup
	for _, r := range AzuriteAccounts {
		out = append(out, ResourceGroup{Name: ResourceGroupFor(r), Region: r})
	}
	return append(out, ResourceGroup{Name: DRResourceGroup, Region: "westus"})
}

// armArgs are the flags of `snapflow-local arm` for info; no secret is
// among them.
func armArgs(dir string, info SharedInfo, certFile, keyFile string) []string {
	args := []string{compARM, "--listen=127.0.0.1:0", "--tls-cert=" + certFile, "--tls-key=" + keyFile,
		"--url-file=" + armURLFile(dir)}
	for _, g := range info.ResourceGroups {
		args = append(args, "--resource-group="+g.ID()+"="+g.Region)
	}
	for _, r := range slices.Sorted(maps.Keys(info.AzuriteAccounts)) {
		args = append(args, "--region="+r,
			"--storage-account="+r+"="+r+","+info.AzuriteEndpoint+"/"+r)
	}
	return args
}

// armEnv carries the service principal and the account keys.
func armEnv(info SharedInfo) []string {
	var keys []string
	for _, name := range slices.Sorted(maps.Keys(info.AzuriteAccounts)) {
		keys = append(keys, name+":"+info.AzuriteAccounts[name])
	}
	return []string{
		EnvARMClients + "=" + info.TenantID + ":" + info.ClientID + ":" + info.ClientSecret,
		EnvARMAccountKeys + "=" + strings.Join(keys, ";"),
	}
}

func armURLFile(dir string) string { return filepath.Join(dir, "arm.url") }

// ARMOptions builds the local ARM's Options from the flags of
// `snapflow-local arm` (groups "ID=region", regions, accounts
// "region=name,endpoint") and the secrets in getenv's EnvARMClients and
// EnvARMAccountKeys. It checks what localarm.New would panic on.
func ARMOptions(groups, regions, accounts []string, getenv func(string) string) (localarm.Options, error) {
	opt := localarm.Options{Regions: regions, StorageAccounts: map[string]localarm.StorageAccount{}}
	for _, g := range groups {
		rg, err := parseGroupFlag(g)
		if err != nil {
			return opt, err
		}
		opt.ResourceGroups = append(opt.ResourceGroups, rg)
	}
	keys, err := parsePairs(getenv(EnvARMAccountKeys), 2, EnvARMAccountKeys, "name:key")
	if err != nil {
		return opt, err
	}
	for _, a := range accounts {
		region, rest, ok := strings.Cut(a, "=")
		name, endpoint, ok2 := strings.Cut(rest, ",")
		if !ok || !ok2 || region == "" || name == "" || endpoint == "" {
			return opt, fmt.Errorf("--storage-account %q: want region=name,endpoint", a)
		}
		key := keyOf(keys, name)
		if key == "" {
			return opt, fmt.Errorf("--storage-account %s: no key for it in %s", name, EnvARMAccountKeys)
		}
		opt.StorageAccounts[region] = localarm.StorageAccount{Name: name, Key: key, Endpoint: endpoint}
	}
	clients, err := parsePairs(getenv(EnvARMClients), 3, EnvARMClients, "tenant:client:secret")
	if err != nil {
		return opt, err
	}
	for _, c := range clients {
		opt.Clients = append(opt.Clients, localarm.ClientSecret{TenantID: c[0], ClientID: c[1], Secret: c[2]})
	}
	return opt, nil
}

func parseGroupFlag(g string) (localarm.ResourceGroup, error) {
	id, region, ok := strings.Cut(g, "=")
	seg := strings.Split(strings.Trim(id, "/"), "/")
	if !ok || region == "" || len(seg) != 4 || !strings.EqualFold(seg[0], "subscriptions") ||
		!strings.EqualFold(seg[2], "resourceGroups") || seg[1] == "" || seg[3] == "" {
		return localarm.ResourceGroup{}, fmt.Errorf("--resource-group %q: want /subscriptions/S/resourceGroups/RG=region", g)
	}
	return localarm.ResourceGroup{ID: id, Location: region}, nil
}

// parsePairs splits "a:b;c:d" into n fields each; the last field may hold
// ':' (a secret), none may be empty. Errors never quote the value.
func parsePairs(s string, n int, env, form string) ([][]string, error) {
	var out [][]string
	for i, item := range strings.Split(s, ";") {
		if item == "" {
			continue
		}
		f := strings.SplitN(item, ":", n)
		if len(f) != n || slices.Contains(f, "") {
			return nil, fmt.Errorf("%s: item %d is not %s", env, i+1, form)
		}
		out = append(out, f)
	}
	return out, nil
}

func keyOf(pairs [][]string, name string) string {
	for _, p := range pairs {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}

// newARMPKI writes a CA and the local ARM's serving certificate (for
// 127.0.0.1 and localhost) into dir, reusing the cluster PKI's helpers.
func newARMPKI(dir string) (caFile, certFile, keyFile string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", "", err
	}
	caKey, ca, err := selfSignedCA()
	if err != nil {
		return "", "", "", fmt.Errorf("create CA: %w", err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "arm.crt"), filepath.Join(dir, "arm.key")
	if err := writeCertKey(caFile, filepath.Join(dir, "ca.key"), ca.Raw, caKey); err != nil {
		return "", "", "", err
	}
	der, key, err := signLeaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "snapflow-local-arm"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	if err != nil {
		return "", "", "", fmt.Errorf("issue the ARM certificate: %w", err)
	}
	return caFile, certFile, keyFile, writeCertKey(certFile, keyFile, der, key)
}

// armReady waits for the URL file, then for the tenant's OpenID
// configuration over TLS verified against caFile: what azidentity fetches
// first, so a wrong certificate fails the start, not the first test.
func armReady(dir, caFile string, info *SharedInfo) func(context.Context) (bool, error) {
	var client *http.Client
	return func(ctx context.Context) (bool, error) {
		data, err := os.ReadFile(armURLFile(dir))
		if err != nil || len(data) == 0 {
			return false, nil
		}
		if client == nil {
			if client, err = caClient(caFile); err != nil {
				return false, err
			}
		}
		url := strings.TrimSpace(string(data))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/"+TenantID+"/v2.0/.well-known/openid-configuration", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				return false, fmt.Errorf("ARM certificate: %w", err)
			}
			return false, nil
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, nil
		}
		info.ARMURL = url
		return true, nil
	}
}

// caClient is an HTTP client that trusts only caFile.
func caClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}
