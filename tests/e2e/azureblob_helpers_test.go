//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
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

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
)

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
