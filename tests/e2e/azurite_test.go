//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// TestAzuriteAccounts puts and gets a blob with azblob in each storage
// account ("region") Azurite serves.
func TestAzuriteAccounts(t *testing.T) {
	for account, key := range env.c.AzuriteAccounts {
		t.Run(account, func(t *testing.T) {
			cred, err := azblob.NewSharedKeyCredential(account, key)
			if err != nil {
				t.Fatal(err)
			}
			url := fmt.Sprintf("%s/%s", env.c.AzuriteEndpoint, account)
			client, err := azblob.NewClientWithSharedKeyCredential(url, cred, &azblob.ClientOptions{
				ClientOptions: azcore.ClientOptions{InsecureAllowCredentialWithHTTP: true, Retry: policy.RetryOptions{MaxRetries: 2}},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if _, err := client.CreateContainer(ctx, "probe", nil); err != nil {
				t.Fatalf("create container: %v", err)
			}
			payload := []byte("hello from " + account)
			if _, err := client.UploadBuffer(ctx, "probe", "hello.txt", payload, nil); err != nil {
				t.Fatalf("put: %v", err)
			}
			resp, err := client.DownloadStream(ctx, "probe", "hello.txt", nil)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("got %q (%v), want %q", got, err, payload)
			}
		})
	}
}
