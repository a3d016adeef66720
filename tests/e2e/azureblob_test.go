//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/alecthomas/kingpin/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/cli"
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

// azbKopiaCLI runs a kopia CLI command in this process, fails the test if
// it fails, and returns what it wrote to stderr (its log).
func azbKopiaCLI(t *testing.T, args ...string) string {
	t.Helper()
	app := cli.NewApp()
	stdout, stderr, wait, _ := app.RunSubcommand(t.Context(), kingpin.New("kopia", "kopia in-process"), nil, args)
	var outText, errText bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(&outText, stdout) })
	wg.Go(func() { io.Copy(&errText, stderr) })
	err := wait()
	wg.Wait()
	if err != nil {
		t.Fatalf("kopia %s: %v\nstdout:\n%s\nstderr:\n%s", args[0:2], err, outText.String(), errText.String())
	}
	return errText.String()
}

// --- Azurite helpers ---

func azbKey(t *testing.T, account string) string {
	t.Helper()
	key, ok := env.c.AzuriteAccounts[account]
	if !ok {
		t.Fatalf("Azurite has no account %q", account)
	}
	return key
}

// azbEndpoint is the path-style service URL of an Azurite account.
func azbEndpoint(account string) string {
	return env.c.AzuriteEndpoint + "/" + account
}

func azbKeyOptions(account, key, container string) azureblob.Options {
	return azureblob.Options{Endpoint: azbEndpoint(account), AccountName: account, AccountKey: key, Container: container}
}

func azbClient(t *testing.T, account, key string) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(azbEndpoint(account), cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{InsecureAllowCredentialWithHTTP: true, Retry: azpolicy.RetryOptions{MaxRetries: 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// azbContainerName is a fresh container name: tests share Azurite for the
// life of the test binary.
func azbContainerName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "azb-" + hex.EncodeToString(b)
}

// azbNewContainer creates a fresh container, deleted when the test ends.
func azbNewContainer(t *testing.T, account string) string {
	t.Helper()
	client := azbClient(t, account, azbKey(t, account))
	name := azbContainerName()
	if _, err := client.CreateContainer(t.Context(), name, nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteContainer(context.Background(), name, nil); err != nil {
			t.Logf("delete container %s: %v", name, err)
		}
	})
	return name
}

// azbSAS signs a container SAS with the account key, valid for an hour over
// HTTP (Azurite) as well as HTTPS.
func azbSAS(t *testing.T, account, key, container string, perms sas.ContainerPermissions) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-5 * time.Minute).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ContainerName: container,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

// azbSig is the signature of a SAS, the part that must stay secret.
func azbSig(t *testing.T, token string) string {
	t.Helper()
	for _, kv := range strings.Split(strings.TrimPrefix(token, "?"), "&") {
		if v, ok := strings.CutPrefix(kv, "sig="); ok {
			return v
		}
	}
	t.Fatal("SAS has no sig")
	return ""
}

// azbListNames lists every blob name in the container with azblob.
func azbListNames(t *testing.T, account, key, container string) []string {
	t.Helper()
	var names []string
	pager := azbClient(t, account, key).NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
		}
	}
	return names
}

// --- checks beyond kopia's suite ---

// azbVerifyDoNotRecreate: a put with DoNotRecreate creates a missing blob
// and refuses, without writing, to replace an existing one.
func azbVerifyDoNotRecreate(ctx context.Context, t *testing.T, st blob.Storage) {
	id := blob.ID("dnr" + azbContainerName())
	if err := st.PutBlob(ctx, id, azbBytes("first"), blob.PutOptions{DoNotRecreate: true}); err != nil {
		t.Fatalf("first put: %v", err)
	}
	err := st.PutBlob(ctx, id, azbBytes("second"), blob.PutOptions{DoNotRecreate: true})
	if !errors.Is(err, blob.ErrBlobAlreadyExists) {
		t.Fatalf("second put: got %v, want ErrBlobAlreadyExists", err)
	}
	azbAssertGetBlob(ctx, t, st, id, []byte("first"))
	if err := st.DeleteBlob(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBlob(ctx, id, azbBytes("third"), blob.PutOptions{DoNotRecreate: true}); err != nil {
		t.Fatalf("put after delete: %v", err)
	}
	azbAssertGetBlob(ctx, t, st, id, []byte("third"))
}

// azbVerifyUnsupported: object lock and capacity are refused with kopia's
// sentinel errors, and nothing is written.
func azbVerifyUnsupported(ctx context.Context, t *testing.T, st blob.Storage) {
	id := blob.ID("locked" + azbContainerName())
	err := st.PutBlob(ctx, id, azbBytes("x"), blob.PutOptions{RetentionMode: blob.Compliance, RetentionPeriod: time.Hour})
	if !errors.Is(err, blob.ErrUnsupportedPutBlobOption) {
		t.Errorf("put with retention: got %v, want ErrUnsupportedPutBlobOption", err)
	}
	azbAssertGetBlobNotFound(ctx, t, st, id)
	if err := st.ExtendBlobRetention(ctx, id, blob.ExtendOptions{RetentionMode: blob.Governance, RetentionPeriod: time.Hour}); !errors.Is(err, blob.ErrUnsupportedObjectLock) {
		t.Errorf("extend retention: got %v, want ErrUnsupportedObjectLock", err)
	}
	if _, err := st.GetCapacity(ctx); !errors.Is(err, blob.ErrNotAVolume) {
		t.Errorf("capacity: got %v, want ErrNotAVolume", err)
	}
}

// azbVerifyPrefix: the prefix is in the Azure names, and a storage with
// another prefix on the same container sees none of the blobs.
func azbVerifyPrefix(ctx context.Context, t *testing.T, account, key string, opt azureblob.Options) {
	names := azbListNames(t, account, key, opt.Container)
	if len(names) == 0 {
		t.Fatal("container is empty")
	}
	for _, n := range names {
		if !strings.HasPrefix(n, opt.Prefix) {
			t.Errorf("blob %q lacks prefix %q", n, opt.Prefix)
		}
	}
	other := opt
	other.Prefix = "team-b/"
	st, err := azureblob.New(ctx, &other, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := blob.ListAllBlobs(ctx, st, ""); err != nil || len(got) != 0 {
		t.Errorf("team-b/ lists %v, %v; want nothing", got, err)
	}
	// The same ID under each prefix is a different blob.
	if err := st.PutBlob(ctx, "kopia.repository", azbBytes("team-b"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	mine, err := azureblob.New(ctx, &opt, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.PutBlob(ctx, "kopia.repository", azbBytes("team-a"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	azbAssertGetBlob(ctx, t, mine, "kopia.repository", []byte("team-a"))
	azbAssertGetBlob(ctx, t, st, "kopia.repository", []byte("team-b"))
	if got, err := blob.ListAllBlobs(ctx, st, ""); err != nil || len(got) != 1 {
		t.Errorf("team-b/ lists %v, %v; want its one blob", got, err)
	}
}

// --- snapshot data ---

// azbWriteTree writes a small tree with the cases a backup must keep: an
// empty file, a file larger than one 4 MiB chunk, duplicates, nesting.
func azbWriteTree(t *testing.T, root string) {
	t.Helper()
	rnd := mrand.New(mrand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return b
	}
	dup := random(100 << 10)
	files := map[string][]byte{
		"hello.txt":          []byte("hello from snapflow\n"),
		"empty":              nil,
		"dir/big.bin":        random(6 << 20),
		"dir/sub/same-1.bin": dup,
		"dir/sub/same-2.bin": dup,
		"dir/sub/deeper/x":   random(4097),
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// azbCompareTrees fails unless both trees hold the same paths, and every
// file has the same bytes.
func azbCompareTrees(t *testing.T, want, got string) {
	t.Helper()
	walk := func(root string) map[string]string {
		m := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			switch {
			case d.IsDir():
				m[rel] = "dir"
			case d.Type().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				m[rel] = fmt.Sprintf("%d bytes, sha256 %x", len(b), sha256.Sum256(b))
			default:
				m[rel] = d.Type().String()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if diff := cmp.Diff(walk(got), walk(want)); diff != "" {
		t.Errorf("restored tree differs (-restored +source):\n%s", diff)
	}
}

// --- blob.Bytes and blob.OutputBuffer ---

// azbBytes is a blob.Bytes over a byte slice.
type azbBytes []byte

func (b azbBytes) Length() int                        { return len(b) }
func (b azbBytes) WriteTo(w io.Writer) (int64, error) { n, err := w.Write(b); return int64(n), err }
func (b azbBytes) Reader() io.ReadSeekCloser          { return azbReader{bytes.NewReader(b)} }

type azbReader struct{ *bytes.Reader }

func (azbReader) Close() error { return nil }

// azbBuffer is a blob.OutputBuffer.
type azbBuffer struct{ bytes.Buffer }

func (b *azbBuffer) Length() int { return b.Len() }

// azbVerifyBlobs checks the blob.Storage contract: absent blobs are
// ErrBlobNotFound; puts read back whole and in ranges; listing by prefix
// sees exactly what was put, with lengths; overwrite replaces; delete is
// idempotent.
func azbVerifyBlobs(ctx context.Context, t *testing.T, st blob.Storage) {
	var out azbBuffer
	if err := st.GetBlob(ctx, "nothing", 0, -1, &out); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("get of a missing blob: %v, want ErrBlobNotFound", err)
	}
	if _, err := st.GetMetadata(ctx, "nothing"); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("metadata of a missing blob: %v, want ErrBlobNotFound", err)
	}
	want := map[blob.ID]string{"pa1": "first", "pa2": strings.Repeat("0123456789", 1000), "pb1": ""}
	for id, data := range want {
		if err := st.PutBlob(ctx, id, azbBytes(data), blob.PutOptions{}); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
	}
	for id, data := range want {
		out.Reset()
		if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || out.String() != data {
			t.Errorf("get %s: %d bytes, %v; want %d bytes", id, out.Len(), err, len(data))
		}
	}
	out.Reset()
	if err := st.GetBlob(ctx, "pa2", 5, 7, &out); err != nil || out.String() != "5678901" {
		t.Errorf("range read: %q, %v", out.String(), err)
	}
	listed := map[blob.ID]int64{}
	if err := st.ListBlobs(ctx, "pa", func(m blob.Metadata) error { listed[m.BlobID] = m.Length; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed["pa1"] != 5 || listed["pa2"] != 10000 {
		t.Errorf("list pa: %v, want pa1 (5) and pa2 (10000)", listed)
	}
	if err := st.PutBlob(ctx, "pa1", azbBytes("second"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := st.GetBlob(ctx, "pa1", 0, -1, &out); err != nil || out.String() != "second" {
		t.Errorf("after overwrite: %q, %v", out.String(), err)
	}
	for range 2 {
		if err := st.DeleteBlob(ctx, "pa1"); err != nil {
			t.Errorf("delete (twice is fine): %v", err)
		}
	}
	if _, err := st.GetMetadata(ctx, "pa1"); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("metadata after delete: %v, want ErrBlobNotFound", err)
	}
}

// azbVerifyReopen reopens the storage from its ConnectionInfo, as kopia
// does from a config file, and reads a blob through it.
func azbVerifyReopen(ctx context.Context, t *testing.T, st blob.Storage) {
	if err := st.PutBlob(ctx, "reopen", azbBytes("again"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := blob.NewStorage(ctx, st.ConnectionInfo(), false)
	if err != nil {
		t.Fatalf("reopen from ConnectionInfo: %v", err)
	}
	defer again.Close(ctx)
	var out azbBuffer
	if err := again.GetBlob(ctx, "reopen", 0, -1, &out); err != nil || out.String() != "again" {
		t.Errorf("read through the reopened storage: %q, %v", out.String(), err)
	}
}

// azbVerifyConcurrent puts and reads back blobs from several goroutines.
func azbVerifyConcurrent(ctx context.Context, t *testing.T, st blob.Storage) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := blob.ID(fmt.Sprintf("c%d-%d", w, i))
				data := strings.Repeat(string(id), 100)
				if err := st.PutBlob(ctx, id, azbBytes(data), blob.PutOptions{}); err != nil {
					errs <- err
					return
				}
				var out azbBuffer
				if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || out.String() != data {
					errs <- fmt.Errorf("read back %s: %d bytes, %w", id, out.Len(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// azbAssertGetBlob fails the test unless blob id holds want.
func azbAssertGetBlob(ctx context.Context, t *testing.T, st blob.Storage, id blob.ID, want []byte) {
	t.Helper()
	var out azbBuffer
	if err := st.GetBlob(ctx, id, 0, -1, &out); err != nil || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("blob %s: %q, %v; want %q", id, out.Bytes(), err, want)
	}
}

// azbAssertGetBlobNotFound fails the test unless blob id is absent.
func azbAssertGetBlobNotFound(ctx context.Context, t *testing.T, st blob.Storage, id blob.ID) {
	t.Helper()
	var out azbBuffer
	if err := st.GetBlob(ctx, id, 0, -1, &out); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("blob %s: %v, want ErrBlobNotFound", id, err)
	}
}
