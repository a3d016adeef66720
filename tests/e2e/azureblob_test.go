//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/kopia/kopia/fs/localfs"
	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/blob"
	"github.com/kopia/kopia/repo/content"
	"github.com/kopia/kopia/snapshot"
	"github.com/kopia/kopia/snapshot/policy"
	"github.com/kopia/kopia/snapshot/restore"
	"github.com/kopia/kopia/snapshot/snapshotfs"
	"github.com/kopia/kopia/snapshot/upload"

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
)

// TestAzureBlobConformance checks the blob.Storage contract kopia relies on
// against azureblob on Azurite (kopia's own provider validation runs in
// TestAzureBlobRepository), once per way of addressing a container: shared key,
// shared key under a prefix, and a container SAS.
func TestAzureBlobConformance(t *testing.T) {
	account := "eastus"
	key := azbKey(t, account)
	cases := []struct {
		name string
		opts func(t *testing.T, container string) azureblob.Options
	}{
		{
			name: "shared key",
			opts: func(t *testing.T, c string) azureblob.Options { return azbKeyOptions(account, key, c) },
		},
		{
			name: "shared key with prefix",
			opts: func(t *testing.T, c string) azureblob.Options {
				opt := azbKeyOptions(account, key, c)
				opt.Prefix = "team-a/"
				return opt
			},
		},
		{
			name: "SAS",
			opts: func(t *testing.T, c string) azureblob.Options {
				return azureblob.Options{
					Endpoint:  azbEndpoint(account),
					SASToken:  "?" + azbSAS(t, account, key, c, sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}),
					Container: c,
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			container := azbNewContainer(t, account)
			opt := tc.opts(t, container)
			st, err := azureblob.New(ctx, &opt, false)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { st.Close(context.Background()) })

			t.Run("Blobs", func(t *testing.T) { azbVerifyBlobs(ctx, t, st) })
			t.Run("ConnectionInfo", func(t *testing.T) { azbVerifyReopen(ctx, t, st) })
			t.Run("Concurrent", func(t *testing.T) { azbVerifyConcurrent(ctx, t, st) })
			t.Run("DoNotRecreate", func(t *testing.T) { azbVerifyDoNotRecreate(ctx, t, st) })
			t.Run("Unsupported", func(t *testing.T) { azbVerifyUnsupported(ctx, t, st) })
			if opt.Prefix != "" {
				t.Run("PrefixIsolation", func(t *testing.T) { azbVerifyPrefix(ctx, t, account, key, opt) })
			}
		})
	}
}

// TestAzureBlobErrors: wrong credentials, a read-only SAS and a missing
// container fail clearly, and no error shows a key or a SAS signature.
func TestAzureBlobErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	account := "westus"
	key := azbKey(t, account)
	container := azbNewContainer(t, account)
	otherKey := azbKey(t, "eastus") // valid base64, wrong account

	// secretsIn reports which secrets an error's text shows.
	secretsIn := func(err error, secrets ...string) []string {
		var shown []string
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				shown = append(shown, s)
			}
		}
		return shown
	}

	t.Run("wrong key", func(t *testing.T) {
		opt := azbKeyOptions(account, otherKey, container)
		_, err := azureblob.New(ctx, &opt, false)
		if err == nil {
			t.Fatal("New with the wrong key succeeded")
		}
		t.Log(err)
		if shown := secretsIn(err, otherKey, key); len(shown) > 0 {
			t.Errorf("error shows a key: %v", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("open container %q", container)) || !strings.Contains(err.Error(), "403") {
			t.Errorf("error %q does not say it was refused (403) opening the container", err)
		}
	})

	t.Run("SAS signed with the wrong key", func(t *testing.T) {
		token := azbSAS(t, account, otherKey, container, sas.ContainerPermissions{Read: true, List: true})
		opt := azureblob.Options{Endpoint: azbEndpoint(account), SASToken: token, Container: container}
		_, err := azureblob.New(ctx, &opt, false)
		if err == nil {
			t.Fatal("New with a bad SAS succeeded")
		}
		t.Log(err)
		if shown := secretsIn(err, azbSig(t, token), token); len(shown) > 0 {
			t.Errorf("error shows the SAS: %v", err)
		}
	})

	t.Run("read-only SAS", func(t *testing.T) {
		token := azbSAS(t, account, key, container, sas.ContainerPermissions{Read: true, List: true})
		opt := azureblob.Options{Endpoint: azbEndpoint(account), SASToken: token, Container: container}
		st, err := azureblob.New(ctx, &opt, false)
		if err != nil {
			t.Fatalf("New with a read-only SAS: %v", err)
		}
		err = st.PutBlob(ctx, "x", azbBytes("data"), blob.PutOptions{DoNotRecreate: true})
		if err == nil {
			t.Fatal("PutBlob with a read-only SAS succeeded")
		}
		t.Log(err)
		if errors.Is(err, blob.ErrBlobAlreadyExists) {
			t.Errorf("a refused write reads as an existing blob: %v", err)
		}
		if !strings.Contains(err.Error(), `put blob "x" in container`) || !strings.Contains(err.Error(), "403") {
			t.Errorf("error %q does not say the write was refused (403)", err)
		}
		if shown := secretsIn(err, azbSig(t, token)); len(shown) > 0 {
			t.Errorf("error shows the SAS signature: %v", err)
		}
	})

	t.Run("missing container", func(t *testing.T) {
		opt := azbKeyOptions(account, key, "azb-does-not-exist")
		_, err := azureblob.New(ctx, &opt, false)
		if err == nil || !strings.Contains(err.Error(), "container does not exist") {
			t.Fatalf("got %v, want a missing-container error", err)
		}
	})

	t.Run("isCreate creates the container", func(t *testing.T) {
		name := azbContainerName()
		t.Cleanup(func() { azbClient(t, account, key).DeleteContainer(context.Background(), name, nil) })
		opt := azbKeyOptions(account, key, name)
		st, err := azureblob.New(ctx, &opt, true)
		if err != nil {
			t.Fatalf("New with isCreate: %v", err)
		}
		if err := st.PutBlob(ctx, "x", azbBytes("data"), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		// Creating again adopts the existing container.
		if _, err := azureblob.New(ctx, &opt, true); err != nil {
			t.Fatalf("New with isCreate on an existing container: %v", err)
		}
	})
}

// TestAzureBlobRepository initializes a kopia repository on azureblob,
// connects to it through a config file (which reopens the storage by its
// registered type), uploads a snapshot, restores it byte-identical, and
// runs kopia's own provider validation (repository validate-provider).
func TestAzureBlobRepository(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	account := "westus"
	key := azbKey(t, account)
	container := azbNewContainer(t, account)
	opt := azbKeyOptions(account, key, container)
	opt.Prefix = "repo/"
	const password = "snapflow-e2e-password"

	st, err := azureblob.New(ctx, &opt, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := repo.Initialize(ctx, st, &repo.NewRepositoryOptions{}, password); err != nil {
		t.Fatalf("initialize repository: %v", err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "repository.config")
	if err := repo.Connect(ctx, config, st, password, &repo.ConnectOptions{
		CachingOptions: content.CachingOptions{CacheDirectory: filepath.Join(dir, "cache")},
	}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(config); err != nil || !bytes.Contains(raw, []byte(`"type": "`+azureblob.StorageType+`"`)) {
		t.Fatalf("config file lacks storage type %q (%v):\n%s", azureblob.StorageType, err, raw)
	}

	src := filepath.Join(dir, "src")
	azbWriteTree(t, src)
	source := snapshot.SourceInfo{Host: "e2e", UserName: "snapflow", Path: src}

	rep, err := repo.Open(ctx, config, password, &repo.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "azureblob e2e"}, func(ctx context.Context, w repo.RepositoryWriter) error {
		root, err := localfs.Directory(src)
		if err != nil {
			return err
		}
		tree, err := policy.TreeForSource(ctx, w, source)
		if err != nil {
			return err
		}
		man, err := upload.NewUploader(w).Upload(ctx, root, tree, source)
		if err != nil {
			return err
		}
		if man.IncompleteReason != "" {
			return fmt.Errorf("snapshot incomplete: %s", man.IncompleteReason)
		}
		_, err = snapshot.SaveSnapshot(ctx, w, man)
		return err
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if err := rep.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Read back through a fresh open of the config file.
	rep, err = repo.Open(ctx, config, password, &repo.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer rep.Close(context.Background())
	mans, err := snapshot.ListSnapshots(ctx, rep, source)
	if err != nil || len(mans) != 1 {
		t.Fatalf("list snapshots: %d, %v; want 1", len(mans), err)
	}
	root, err := snapshotfs.SnapshotRoot(rep, mans[0])
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored")
	out := &restore.FilesystemOutput{TargetPath: restored, SkipOwners: true}
	if err := out.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Entry(ctx, rep, out, root, restore.Options{RestoreDirEntryAtDepth: math.MaxInt32}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	azbCompareTrees(t, src, restored)

	// Every blob the repository wrote is under the prefix.
	names := azbListNames(t, account, key, container)
	if !slices.Contains(names, "repo/kopia.repository") {
		t.Errorf("no repo/kopia.repository among %d blobs", len(names))
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "repo/") {
			t.Errorf("blob %q is outside the prefix", n)
		}
	}

	t.Run("kopia validate-provider", func(t *testing.T) {
		if os.Getenv("KOPIA_SKIP_PROVIDER_VALIDATION") != "" {
			t.Skip("KOPIA_SKIP_PROVIDER_VALIDATION is set")
		}
		log := azbKopiaCLI(t, "repository", "validate-provider",
			"--config-file="+config, "--password="+password,
			"--concurrency-test-duration=10s", "--num-storage-connections=3")
		var steps []string
		for _, line := range strings.Split(log, "\n") {
			if !strings.HasPrefix(line, "[STORAGE") && !strings.Contains(line, " worker ") {
				steps = append(steps, line)
			}
		}
		t.Logf("kopia repository validate-provider:\n%s", strings.Join(steps, "\n"))
		if !slices.Contains(steps, "All good.") {
			t.Errorf("validate-provider did not report \"All good.\"")
		}
	})
}
