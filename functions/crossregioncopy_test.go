package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/localarm"
)

const (
	drTenant       = "tenant-1"
	drClient       = "client-1"
	drClientSecret = "dr-Client-5ecret-must-not-leak"
	drToken        = "local-arm-test-token"
)

// drWorld is a local Azure Resource Manager (served over TLS, as the
// credential's token endpoint must be) with a 64 MiB disk in eastus, an
// incremental snapshot of it, and a resource group in westus.
type drWorld struct {
	srv      *localarm.Server
	azure    function.AzureCloud
	snaps    *armcompute.SnapshotsClient // as the test, in sub-1
	diskID   string
	sourceID string
}

func newDRWorld(t *testing.T) *drWorld {
	t.Helper()
	srv := localarm.New(localarm.Options{
		ResourceGroups: []localarm.ResourceGroup{
			{ID: "/subscriptions/sub-1/resourceGroups/east", Location: "eastus"},
			{ID: "/subscriptions/sub-1/resourceGroups/dr", Location: "westus"},
		},
		Blobs:        localarm.NewMemBlobs(),
		CopyStep:     50,
		RequireToken: drToken,
		Clients:      []localarm.ClientSecret{{TenantID: drTenant, ClientID: drClient, Secret: drClientSecret}},
	})
	hs := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(hs.Close)
	w := &drWorld{srv: srv, azure: function.AzureCloud{
		ResourceManager: hs.URL, Audience: "https://management.core.windows.net/", AuthorityHost: hs.URL + "/", HTTPClient: hs.Client(),
	}}
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hs.Client(), Cloud: cloud.Configuration{
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: hs.URL, Audience: "https://management.core.windows.net/"}},
	}}, DisableRPRegistration: true}
	tok := staticToken(drToken)
	disks, err := armcompute.NewDisksClient("sub-1", tok, opts)
	if err != nil {
		t.Fatal(err)
	}
	if w.snaps, err = armcompute.NewSnapshotsClient("sub-1", tok, opts); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	fast := &runtime.PollUntilDoneOptions{Frequency: time.Millisecond}
	dp, err := disks.BeginCreateOrUpdate(ctx, "east", "data", armcompute.Disk{Location: to.Ptr("eastus"), Properties: &armcompute.DiskProperties{
		DiskSizeGB: to.Ptr[int32](1), CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := dp.PollUntilDone(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	w.diskID = *disk.ID
	if err := srv.WriteDisk(w.diskID, 0, make64MiB()); err != nil {
		t.Fatal(err)
	}
	w.sourceID = w.snapshot(t, "data-snap-1")
	return w
}

// snapshot takes an incremental snapshot of the disk and returns its ID.
func (w *drWorld) snapshot(t *testing.T, name string) string {
	t.Helper()
	p, err := w.snaps.BeginCreateOrUpdate(t.Context(), "east", name, armcompute.Snapshot{Location: to.Ptr("eastus"), Properties: &armcompute.SnapshotProperties{
		Incremental: to.Ptr(true), CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: to.Ptr(w.diskID)},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.PollUntilDone(t.Context(), &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return *s.ID
}

func make64MiB() []byte {
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i*7 + i>>20)
	}
	return b
}

// drRuntime is a run whose credentials Secret holds secret.
func (w *drWorld) drRuntime(t *testing.T, secret string) *fakeCluster {
	t.Helper()
	fc := newFakeCluster(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: actionNS, Name: "azure"}, Data: map[string][]byte{
		"azureTenantID": []byte(drTenant), "azureClientID": []byte(drClient), "azureClientSecret": []byte(secret),
	}})
	fc.rt.Clients.Azure = w.azure
	fc.rt.Action = celenv.Action{Name: "backup", Blueprint: "bp", ActionSet: "backup-x1", Namespace: actionNS, UID: "uid-1"}
	return fc
}

func drArgs(sourceID, rg string) map[string]any {
	return map[string]any{
		"snapshots": []any{map[string]any{"pvc": "data", "namespace": "shop", "volumeSnapshot": "vs-1", "snapshotHandle": sourceID,
			"driver": "disk.csi.azure.com", "creationTime": "2026-12-07T10:00:00Z"}},
		"region": "westus", "resourceGroup": rg, "method": "copyStart", "credentials": "azure", "pollInterval": "1ms",
	}
}

func runDRCopy(t *testing.T, fc *fakeCluster, args map[string]any) ([]DRCopy, error) {
	t.Helper()
	out, err := invoke(t.Context(), CrossRegionCopy(), fc.rt, args)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(out["copies"])
	var copies []DRCopy
	if err := json.Unmarshal(raw, &copies); err != nil {
		t.Fatal(err)
	}
	return copies, nil
}

// The copy lands in the DR resource group with the source's data, and a
// second call (a resumed phase) adopts it instead of copying again.
func TestCrossRegionCopyStartLocalARM(t *testing.T) {
	w := newDRWorld(t)
	fc := w.drRuntime(t, drClientSecret)
	copies, err := runDRCopy(t, fc, drArgs(w.sourceID, "dr"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != 1 || copies[0].Method != "copyStart" || copies[0].Region != "westus" || copies[0].SourceID != w.sourceID ||
		!strings.Contains(strings.ToLower(copies[0].SnapshotID), "/resourcegroups/dr/providers/microsoft.compute/snapshots/") {
		t.Fatalf("copies = %+v", copies)
	}
	got, err := w.srv.ReadData(copies[0].SnapshotID, 0, 64<<20)
	if err != nil || string(got) != string(make64MiB()) {
		t.Fatalf("the copy's data differs from the disk's (%v)", err)
	}
	moved := w.srv.BytesCopied()
	if moved != 64<<20 {
		t.Errorf("the first copy moved %d bytes, want the 64 MiB written", moved)
	}

	again, err := runDRCopy(t, fc, drArgs(w.sourceID, "dr"))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].SnapshotID != copies[0].SnapshotID || w.srv.BytesCopied() != moved {
		t.Errorf("a repeated call made %s and moved %d more bytes; want it to adopt %s", again[0].SnapshotID, w.srv.BytesCopied()-moved, copies[0].SnapshotID)
	}

	// The next backup's copy moves only what changed: 1 MiB of 64.
	if err := w.srv.WriteDisk(w.diskID, 10<<20, []byte("changed")); err != nil {
		t.Fatal(err)
	}
	second := w.snapshot(t, "data-snap-2")
	fc2 := w.drRuntime(t, drClientSecret)
	fc2.rt.Names = function.NewNames("backup-x2", "uid-2", "dr")
	if _, err := runDRCopy(t, fc2, drArgs(second, "dr")); err != nil {
		t.Fatal(err)
	}
	if d := w.srv.BytesCopied() - moved; d != 1<<20 {
		t.Errorf("the incremental copy moved %d bytes, want 1 MiB", d)
	}

	// deleteSnapshots retires the DR copies with the restore point.
	out, err := invoke(t.Context(), DeleteSnapshots(), fc.rt, map[string]any{
		"snapshots": []any{}, "credentials": "azure",
		"drCopies": []any{map[string]any{"pvc": "data", "namespace": "shop", "snapshotID": copies[0].SnapshotID}},
	})
	if err != nil || fmt.Sprint(out["drCopiesDeleted"]) != "1" {
		t.Fatalf("deleteSnapshots of the DR copy: %v, %v", out, err)
	}
	if _, err := w.srv.ReadData(copies[0].SnapshotID, 0, 1); err == nil {
		t.Errorf("the DR copy %s is still there", copies[0].SnapshotID)
	}
}

// A throttled Resource Manager is retried; a refused credential, a
// missing resource group and a deleted source fail at once with Azure's
// error code, and the client secret appears in no message.
func TestCrossRegionCopyFaultsLocalARM(t *testing.T) {
	w := newDRWorld(t)
	t.Run("throttled", func(t *testing.T) {
		w.srv.Throttle(2)
		if _, err := runDRCopy(t, w.drRuntime(t, drClientSecret), drArgs(w.sourceID, "dr")); err != nil {
			t.Fatal(err)
		}
		if w.srv.Throttled() != 2 {
			t.Errorf("the server throttled %d requests, want 2", w.srv.Throttled())
		}
	})
	for _, tc := range []struct {
		name, secret, rg, source, want string
	}{
		{"wrong client secret", "wrong-secret", "dr", w.sourceID, "AADSTS7000215"},
		{"missing resource group", drClientSecret, "nowhere", w.sourceID, "ResourceGroupNotFound"},
		{"deleted source", drClientSecret, "dr", "/subscriptions/sub-1/resourceGroups/east/providers/Microsoft.Compute/snapshots/gone", "ResourceNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := w.drRuntime(t, tc.secret)
			fc.rt.Names = function.NewNames("backup-x1", "uid-1", "dr-"+tc.name)
			_, err := runDRCopy(t, fc, drArgs(tc.source, tc.rg))
			if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a permanent one saying %s", err, tc.want)
			}
			for _, s := range []string{drClientSecret, "wrong-secret"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error holds the client secret: %v", err)
				}
			}
		})
	}
}

// staticToken is a credential with a fixed token, for the test's own
// calls.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// progressFunc is a function.Progress.
type progressFunc func(v1alpha1.Progress)

func (f progressFunc) Report(p v1alpha1.Progress) { f(p) }

// A source deleted while its copy runs fails the copy with Azure's
// CopySourceNotFound, and the useless copy is deleted.
func TestCrossRegionCopySourceDeletedLocalARM(t *testing.T) {
	w := newDRWorld(t)
	fc := w.drRuntime(t, drClientSecret)
	deleted := false
	fc.rt.Progress = progressFunc(func(p v1alpha1.Progress) {
		if deleted || p.Percent >= 100 {
			return
		}
		deleted = true
		dp, err := w.snaps.BeginDelete(context.Background(), "east", "data-snap-1", nil)
		if err == nil {
			_, err = dp.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
		}
		if err != nil {
			t.Errorf("delete the source: %v", err)
		}
	})
	_, err := runDRCopy(t, fc, drArgs(w.sourceID, "dr"))
	if err == nil || !function.IsPermanent(err) || !strings.Contains(err.Error(), "CopySourceNotFound") {
		t.Fatalf("error %v, want a permanent one saying CopySourceNotFound", err)
	}
	pager := w.snaps.NewListByResourceGroupPager("dr", nil)
	page, err := pager.NextPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != 0 {
		t.Errorf("%d snapshots left in the DR group, want the failed copy deleted", len(page.Value))
	}
}

func TestRevokeKey(t *testing.T) {
	id := "/subscriptions/s/resourceGroups/east/providers/Microsoft.Compute/snapshots/data"
	for _, tc := range []struct{ secret string }{{"azure"}, {""}} {
		secret, got, err := revokeKey(keyRevoke + tc.secret + "/" + id)
		if err != nil || secret != tc.secret || got != id {
			t.Errorf("revokeKey with secret %q: %q, %q, %v; want %q, %q", tc.secret, secret, got, err, tc.secret, id)
		}
	}
	if _, _, err := revokeKey(keyRevoke + "azure"); err == nil {
		t.Error("a key without a source ID parsed")
	}
}
