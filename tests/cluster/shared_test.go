package cluster

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testSharedInfo() SharedInfo {
	return SharedInfo{
		Dir: "/shared", AzuriteEndpoint: "http://127.0.0.1:10000",
		AzuriteAccounts: map[string]string{"eastus": "ZWFzdC1rZXk=", "westus": "d2VzdC1rZXk+/w=="},
		ARMURL:          "https://127.0.0.1:4443", CAFile: "/shared/pki/ca.crt",
		SubscriptionID: SubscriptionID, ResourceGroups: sharedResourceGroups(),
		TenantID: TenantID, ClientID: ClientID, ClientSecret: "s3cret:with-colon",
	}
}

// flagValues collects the values of --name=value flags in args.
func flagValues(args []string, name string) []string {
	var out []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

func getenvFrom(env []string) func(string) string {
	return func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
}

// What the harness passes to `snapflow-local arm` is what ARMOptions reads
// back, and no secret is on the command line.
func TestARMArgsRoundTrip(t *testing.T) {
	info := testSharedInfo()
	args := armArgs("/shared", info, "/c.crt", "/c.key")
	for _, secret := range []string{info.ClientSecret, info.AzuriteAccounts["eastus"], info.AzuriteAccounts["westus"]} {
		if strings.Contains(strings.Join(args, " "), secret) {
			t.Fatalf("a secret is on the command line: %q", args)
		}
	}
	opt, err := ARMOptions(flagValues(args, "resource-group"), flagValues(args, "region"),
		flagValues(args, "storage-account"), getenvFrom(armEnv(info)))
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, g := range opt.ResourceGroups {
		groups = append(groups, g.ID+"="+g.Location)
	}
	want := []string{
		"/subscriptions/" + SubscriptionID + "/resourceGroups/snapflow-eastus=eastus",
		"/subscriptions/" + SubscriptionID + "/resourceGroups/snapflow-westus=westus",
		"/subscriptions/" + SubscriptionID + "/resourceGroups/snapflow-dr=westus",
	}
	if !slices.Equal(groups, want) {
		t.Errorf("resource groups = %q, want %q", groups, want)
	}
	west := opt.StorageAccounts["westus"]
	if west.Name != "westus" || west.Key != info.AzuriteAccounts["westus"] || west.Endpoint != "http://127.0.0.1:10000/westus" {
		t.Errorf("westus account = %+v", west)
	}
	if len(opt.Clients) != 1 || opt.Clients[0].Secret != info.ClientSecret || opt.Clients[0].TenantID != TenantID {
		t.Errorf("clients = %+v", opt.Clients)
	}
}

func TestARMOptionsRejects(t *testing.T) {
	env := getenvFrom([]string{EnvARMAccountKeys + "=eastus:k1", EnvARMClients + "=t:c:topsecret"})
	cases := map[string]func() error{
		"group without region": func() error {
			_, err := ARMOptions([]string{"/subscriptions/s/resourceGroups/rg"}, nil, nil, env)
			return err
		},
		"malformed group ID": func() error {
			_, err := ARMOptions([]string{"/subscriptions/s/rg=eastus"}, nil, nil, env)
			return err
		},
		"account without key": func() error {
			_, err := ARMOptions(nil, nil, []string{"westus=westus,http://x/westus"}, env)
			return err
		},
		"malformed clients": func() error {
			_, err := ARMOptions(nil, nil, nil, getenvFrom([]string{EnvARMClients + "=t:topsecret"}))
			return err
		},
	}
	for name, f := range cases {
		err := f()
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: error quotes the secret: %v", name, err)
		}
	}
}

func TestNewInfo(t *testing.T) {
	def := newInfo(Options{}, "/d")
	if def.NodeName != NodeName || def.CSIDriver != CSIDriverName || def.StorageClass != StorageClass ||
		def.SnapshotClass != SnapshotClass || def.Name != "" || def.ARMURL != "" {
		t.Errorf("default cluster changed: %+v", def)
	}
	sh := testSharedInfo()
	east := newInfo(Options{Name: "east", Region: "eastus", Shared: &sh}, "/e")
	if east.NodeName != "snapflow-node-east" || east.CSIDriver != AzureDiskDriver || east.StorageClass != AzureStorageClass ||
		east.SnapshotClass != AzureSnapshotClass || east.Region != "eastus" || east.ARMURL != sh.ARMURL ||
		east.ResourceGroup != "snapflow-eastus" {
		t.Errorf("east = %+v", east)
	}
}

func TestOptionsValidate(t *testing.T) {
	sh := testSharedInfo()
	for _, o := range []Options{
		{Name: "East"}, {Name: "a/b"}, {Name: "-x"},
		{Name: "east", Region: "northpole", Shared: &sh},
		{Name: "east", Shared: &sh},
	} {
		if err := o.validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (Options{Name: "east", Region: "eastus", Shared: &sh}).validate(); err != nil {
		t.Error(err)
	}
}

// The azure-disk CSI driver gets its ARM on the command line and its
// credential in the environment only.
func TestCSIDriverCommand(t *testing.T) {
	sh := testSharedInfo()
	o := Options{Name: "west", Region: "westus", Shared: &sh}
	s := &starter{o: o, dir: "/w", c: &Cluster{Info: newInfo(o, "/w")}}
	args, env := s.csiDriverCommand()
	for _, want := range []string{"--personality=azure-disk", "--name=disk.csi.azure.com", "--node-id=snapflow-node-west",
		"--arm-endpoint=" + sh.ARMURL, "--arm-ca-file=" + sh.CAFile, "--subscription=" + SubscriptionID,
		"--resource-group=snapflow-westus", "--region=westus"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	if strings.Contains(strings.Join(args, " "), sh.ClientSecret) {
		t.Errorf("the client secret is on the command line")
	}
	if getenvFrom(env)("AZURE_CLIENT_SECRET") != sh.ClientSecret || getenvFrom(env)("AZURE_AUTHORITY_HOST") != sh.ARMURL+"/" {
		t.Errorf("env = %q", env)
	}
	def := &starter{dir: "/d", c: &Cluster{Info: newInfo(Options{}, "/d")}}
	if args, env := def.csiDriverCommand(); !slices.Equal(args, csiDriverArgs("/d", NodeName, CSIDriverName)) || env != nil {
		t.Errorf("default CSI driver changed: %q %q", args, env)
	}
}

func TestARMPKI(t *testing.T) {
	caFile, certFile, _, err := newARMPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, caFile))
	if _, err := readCert(t, certFile).Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Fatalf("ARM certificate for 127.0.0.1: %v", err)
	}
}

// shared.json holds the client secret: 0600 even over an older 0644 file.
func TestSaveJSONMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shared.json")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveJSON(p, testSharedInfo(), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	info, err := LoadShared(filepath.Dir(p))
	if err != nil || info.ClientSecret != testSharedInfo().ClientSecret {
		t.Errorf("LoadShared = %+v, %v", info, err)
	}
}
