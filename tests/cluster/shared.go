package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SharedOptions configure StartShared.
type SharedOptions struct {
	// Dir holds the shared services' state: PKI, Azurite data, logs, PID
	// files, shared.json. It is created if missing.
	Dir      string
	Binaries Binaries
	// LocalExe is the snapflow-local binary; its arm subcommand serves the
	// local Azure Resource Manager.
	LocalExe string
	// Detached services outlive the caller (`snapflow-local up --name`).
	Detached bool
	// Progress gets one line per service as it becomes ready; may be nil.
	Progress io.Writer
}

// SharedInfo is what the clusters of a DR pair share, "the cloud": one
// Azurite (a storage account per region) and one local Azure Resource
// Manager with its Entra ID token endpoint. It is saved as
// <Dir>/shared.json, mode 0600, as it holds the client secret.
type SharedInfo struct {
	Dir             string            `json:"dir"`
	AzuriteEndpoint string            `json:"azuriteEndpoint"` // http://127.0.0.1:PORT; accounts are path-style
	AzuriteAccounts map[string]string `json:"azuriteAccounts"` // account name (a region) to shared key
	// ARMURL is https://127.0.0.1:PORT: the Resource Manager endpoint and
	// the authority host (AZURE_AUTHORITY_HOST is ARMURL + "/").
	ARMURL string `json:"armURL"`
	// CAFile is the PEM CA that ARMURL's certificate chains to.
	CAFile         string          `json:"caFile"`
	SubscriptionID string          `json:"subscriptionID"`
	ResourceGroups []ResourceGroup `json:"resourceGroups"`
	// The one service principal the token endpoint knows.
	TenantID     string `json:"tenantID"`
	ClientID     string `json:"clientID"`
	ClientSecret string `json:"clientSecret"`
}

// Shared are the running shared services.
type Shared struct {
	SharedInfo
	procs []*process
}

// StartShared starts Azurite (accounts eastus and westus) and the local
// ARM (resource groups snapflow-eastus, snapflow-westus and snapflow-dr),
// waiting for each. On failure what was started is stopped. The ARM keeps
// its resources in memory: stopping it loses them.
func StartShared(ctx context.Context, o SharedOptions) (sh *Shared, err error) {
	dir, err := prepareDir(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkStale(dir); err != nil {
		return nil, fmt.Errorf("%w (for shared services: `snapflow-local down --shared`)", err)
	}
	s := &starter{o: Options{Dir: dir, Binaries: o.Binaries, LocalExe: o.LocalExe, Detached: o.Detached, Progress: o.Progress},
		dir: dir, c: &Cluster{}}
	defer func() {
		if err != nil {
			s.c.Stop()
		}
	}()
	if s.ports, err = freePorts(); err != nil {
		return nil, err
	}
	if err := s.startAzurite(ctx); err != nil {
		return nil, err
	}
	info, err := newSharedInfo(dir, s.c.AzuriteEndpoint, s.c.AzuriteAccounts)
	if err != nil {
		return nil, err
	}
	if err := s.startARM(ctx, &info); err != nil {
		return nil, err
	}
	sh = &Shared{SharedInfo: info, procs: s.c.procs}
	return sh, saveJSON(filepath.Join(dir, "shared.json"), info, 0o600)
}

func prepareDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Abs(dir)
}

func newSharedInfo(dir, endpoint string, accounts map[string]string) (SharedInfo, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return SharedInfo{}, fmt.Errorf("client secret: %w", err)
	}
	return SharedInfo{
		Dir: dir, AzuriteEndpoint: endpoint, AzuriteAccounts: accounts,
		SubscriptionID: SubscriptionID, ResourceGroups: sharedResourceGroups(),
		TenantID: TenantID, ClientID: ClientID, ClientSecret: hex.EncodeToString(secret),
	}, nil
}

// startARM runs `snapflow-local arm` with a certificate from a new CA; the
// secrets go in its environment.
func (s *starter) startARM(ctx context.Context, info *SharedInfo) error {
	caFile, cert, key, err := newARMPKI(filepath.Join(s.dir, "pki"))
	if err != nil {
		return fmt.Errorf("create the ARM certificates: %w", err)
	}
	info.CAFile = caFile
	_ = os.Remove(armURLFile(s.dir)) // a stale URL would pass readiness
	return s.run(ctx, compARM, s.o.LocalExe, armArgs(s.dir, *info, cert, key), armEnv(*info),
		armReady(s.dir, caFile, info))
}

// Stop stops the shared services, the ARM first.
func (sh *Shared) Stop() {
	for i := len(sh.procs) - 1; i >= 0; i-- {
		sh.procs[i].stop(10 * time.Second)
	}
	sh.procs = nil
}

// Logs returns the last n lines of each service's log.
func (sh *Shared) Logs(n int) string {
	var b strings.Builder
	for _, p := range sh.procs {
		fmt.Fprintf(&b, "==== %s (%s)\n%s\n", p.name, p.logPath, p.tail(n))
	}
	return b.String()
}

// LoadShared reads the SharedInfo of shared services started in dir.
func LoadShared(dir string) (SharedInfo, error) {
	var info SharedInfo
	data, err := os.ReadFile(filepath.Join(dir, "shared.json"))
	if err != nil {
		return info, fmt.Errorf("no shared services in %s: %w", dir, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("read %s/shared.json: %w", dir, err)
	}
	return info, nil
}

// EnsureShared returns the shared services running in o.Dir, or starts
// them if none are.
func EnsureShared(ctx context.Context, o SharedOptions) (SharedInfo, error) {
	if info, err := LoadShared(o.Dir); err == nil && servicesRunning(o.Dir) {
		return info, nil
	}
	sh, err := StartShared(ctx, o)
	if err != nil {
		return SharedInfo{}, err
	}
	return sh.SharedInfo, nil
}

// servicesRunning reports whether both shared services recorded in dir
// are alive.
func servicesRunning(dir string) bool {
	recs, err := readPIDs(dir)
	running := map[string]bool{}
	for _, r := range recs {
		running[r.name] = alive(r.pid, r.bin)
	}
	return err == nil && running[compAzurite] && running[compARM]
}

// DownShared stops the shared services recorded in dir's PID files.
func DownShared(dir string) error {
	return stopRecorded(dir, 10*time.Second)
}

func saveJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		return err
	}
	return os.Chmod(path, perm) // WriteFile keeps an existing file's mode
}
