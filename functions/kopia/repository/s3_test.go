package repository

import (
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// fakeS3 serves an in-memory S3 with one bucket on loopback.
func fakeS3(t *testing.T, bucket string) (*s3mem.Backend, string) {
	t.Helper()

	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)

	return backend, srv.URL
}

func TestS3FakeServerRepository(t *testing.T) {
	ctx := t.Context()
	backend, endpoint := fakeS3(t, "backups")
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeS3, Endpoint: endpoint, Bucket: "backups", Prefix: "team-a", Region: "us-east-1"}
	creds := Credentials{Password: testPassword, S3AccessKeyID: "AKIAEXAMPLE", S3SecretAccessKey: "s3-secret-value"}

	rep := openRepo(t, testStorage(t, loc, creds, true), testPassword)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "big.bin"), randomBytes(newRand(7), 1<<20), 0o600)
	writeFile(t, filepath.Join(src, "sub", "small.txt"), []byte("hello"), 0o644)

	res, err := Upload(ctx, rep, src, testSource("pvc"), 2, nil)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}

	rpID := putRestorePoint(t, rep, RestorePoint{Action: "export", Snapshots: map[string]string{"pvc": res.SnapshotID}})

	// Another cluster opens the same bucket and prefix, lists and restores.
	other := openRepo(t, testStorage(t, loc, creds, false), testPassword)

	rps, err := ListRestorePoints(ctx, other)
	if err != nil || len(rps) != 1 || rps[0].ID != rpID {
		t.Fatalf("ListRestorePoints = %+v, %v; want %s", rps, err, rpID)
	}

	dst := t.TempDir()
	if _, err := Restore(ctx, other, rps[0].Snapshots["pvc"], dst, nil); err != nil {
		t.Fatalf("Restore: %v", err)
	}

	if diff := cmp.Diff(treeManifest(t, src), treeManifest(t, dst)); diff != "" {
		t.Errorf("restored tree differs (-want +got):\n%s", diff)
	}

	if err := Verify(ctx, other, res.SnapshotID, 100); err != nil {
		t.Errorf("Verify: %v", err)
	}

	checkObjectsUnderPrefix(t, backend, "backups", "team-a/")

	_, err = Open(ctx, testStorage(t, loc, creds, false), "wrong", t.TempDir())
	if !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Open with a wrong password: %v, want ErrWrongPassword", err)
	}
}

func checkObjectsUnderPrefix(t *testing.T, backend *s3mem.Backend, bucket, prefix string) {
	t.Helper()

	list, err := backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}

	found := false

	for _, o := range list.Contents {
		if !strings.HasPrefix(o.Key, prefix) {
			t.Errorf("object %q is outside prefix %q", o.Key, prefix)
		}

		found = found || o.Key == prefix+"kopia.repository"
	}

	if !found {
		t.Errorf("no %skopia.repository among %d objects", prefix, len(list.Contents))
	}
}

func TestS3FakeServerMissingBucket(t *testing.T) {
	_, endpoint := fakeS3(t, "backups")
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeS3, Endpoint: endpoint, Bucket: "no-such-bucket"}
	creds := Credentials{Password: testPassword, S3AccessKeyID: "AKIAEXAMPLE", S3SecretAccessKey: "s3-secret-value"}

	st, err := NewStorage(t.Context(), loc, creds, false)
	if err == nil {
		_, err = Open(t.Context(), st, testPassword, t.TempDir())
		st.Close(t.Context())
	}

	if err == nil {
		t.Fatal("a missing bucket gave no error")
	}

	t.Logf("missing bucket: %v", err)

	for _, secret := range []string{creds.S3SecretAccessKey, testPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}
