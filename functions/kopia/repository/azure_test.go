package repository

import (
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// The azure path end to end, against an in-memory Azure Blob service with
// Azurite-style path URLs: a repository written with a shared key is listed
// and restored by another cluster, every blob sits under the prefix, and
// the key never shows in errors.
func TestAzureFakeServerRepository(t *testing.T) {
	ctx := t.Context()
	fake, endpoint := newFakeAzure(t)
	key := base64.StdEncoding.EncodeToString([]byte("azure-account-key-secret"))
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Endpoint: endpoint + "/devstoreaccount1", Container: "backups", Prefix: "team-a"}
	creds := Credentials{Password: testPassword, AzureAccountName: "devstoreaccount1", AzureAccountKey: key}

	rep := openRepo(t, testStorage(t, loc, creds, true), testPassword)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "big.bin"), randomBytes(newRand(9), 1<<20), 0o600)
	writeFile(t, filepath.Join(src, "sub", "small.txt"), []byte("hello"), 0o644)

	res, err := Upload(ctx, rep, src, testSource("pvc"), 2, nil)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}

	putRestorePoint(t, rep, RestorePoint{Action: "export", Snapshots: map[string]string{"pvc": res.SnapshotID}})

	other := openRepo(t, testStorage(t, loc, creds, false), testPassword)

	rps, err := ListRestorePoints(ctx, other)
	if err != nil || len(rps) != 1 {
		t.Fatalf("ListRestorePoints = %+v, %v; want 1", rps, err)
	}

	dst := t.TempDir()
	if _, err := Restore(ctx, other, rps[0].Snapshots["pvc"], dst, nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}

	if diff := cmp.Diff(treeManifest(t, src), treeManifest(t, dst)); diff != "" {
		t.Errorf("restored tree differs (-want +got):\n%s", diff)
	}

	names := fake.blobNames("devstoreaccount1/backups")
	for _, n := range names {
		if !strings.HasPrefix(n, "team-a/") {
			t.Errorf("blob %q is outside prefix team-a/", n)
		}
	}

	if !slices.Contains(names, "team-a/kopia.repository") {
		t.Errorf("no team-a/kopia.repository among %d blobs", len(names))
	}

	auth, _ := fake.requests()
	for _, a := range auth {
		if !strings.HasPrefix(a, "SharedKey devstoreaccount1:") {
			t.Fatalf("request not signed with the shared key: Authorization %q", a)
		}
	}

	_, err = Open(ctx, testStorage(t, loc, creds, false), "wrong", t.TempDir())
	if !errors.Is(err, ErrWrongPassword) || strings.Contains(err.Error(), key) {
		t.Errorf("Open with a wrong password: %v, want ErrWrongPassword without the key", err)
	}
}

// A SAS token travels in the query and never shows in errors.
func TestAzureFakeServerSASNeverInErrors(t *testing.T) {
	fake, endpoint := newFakeAzure(t, "westus/backups")
	sig := "c2lnbmF0dXJlK3NlY3JldA=="
	sas := "sv=2024-08-04&sr=c&sp=racwdl&sig=" + url.QueryEscape(sig)
	creds := Credentials{Password: testPassword, AzureSASToken: "?" + sas}

	good := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Endpoint: endpoint + "/westus", Container: "backups"}
	openRepo(t, testStorage(t, good, creds, true), testPassword)

	if _, queries := fake.requests(); len(queries) == 0 || !strings.Contains(queries[0], "sig=") {
		t.Errorf("requests carry no SAS signature: %q", queries)
	}

	missing := good
	missing.Container = "missing"

	_, err := NewStorage(t.Context(), missing, creds, false)
	if err == nil {
		t.Fatal("NewStorage of a missing container succeeded")
	}

	t.Logf("missing container: %v", err)

	for _, s := range []string{sig, url.QueryEscape(sig), sas} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows the SAS: %v", err)
		}
	}
}
