package functions

// crossRegionCopy's VHD method: the snapshot's VHD staged in a page blob
// of the DR Location's storage account, imported as a snapshot there.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/functions/kopia/azureblob"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Cleanup keys of the VHD method: the source's read access
// ("vhd-revoke/<credentials Secret>/<source ID>") and the staged blob
// ("vhd-blob/<container>/<name>").
const (
	keyRevoke = "vhd-revoke/"
	keyBlob   = "vhd-blob/"
)

// vhdCopy copies snapshot i to target through a page blob.
func (c *drCopier) vhdCopy(ctx context.Context, base azuredisk.Copier, i int, target azuredisk.Target) (azuredisk.Copy, error) {
	s := c.in.Snapshots[i]
	src, err := azuredisk.ParseSnapshotID(s.SnapshotHandle)
	if err != nil {
		return azuredisk.Copy{}, function.Permanent(err)
	}
	source, err := azuredisk.Snapshots(c.rt.Clients.Azure, src.SubscriptionID, c.cred)
	if err != nil {
		return azuredisk.Copy{}, function.Permanent(err)
	}
	blobs, account, err := vhdBlobs(ctx, c.rt, c.in.VHDContainer)
	if err != nil {
		return azuredisk.Copy{}, err
	}
	blobs.Progress = func(done, total int64) {
		if total > 0 {
			c.progress(i, float32(done)*100/float32(total))
		}
	}
	accountID := c.in.StorageAccount
	if accountID == "" {
		accountID = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s", target.Subscription, target.ResourceGroup, account)
	}
	v := azuredisk.VHD{Copier: base, Source: source, Blobs: blobs, StorageAccountID: accountID,
		Hold: func(ctx context.Context, what string) error {
			if what == "revoke" {
				return c.rt.Cleanup(ctx, keyRevoke+c.in.Credentials+"/"+s.SnapshotHandle)
			}
			return c.rt.Cleanup(ctx, keyBlob+c.in.VHDContainer+"/"+target.Name+".vhd")
		}}
	return v.Copy(ctx, s.SnapshotHandle, target)
}

// vhdBlobs are the page blobs in container of the ActionSet's Location,
// which must be of type azure and in the DR region, with a shared key;
// also its account's name.
func vhdBlobs(ctx context.Context, rt *function.Runtime, container string) (azuredisk.ContainerBlobs, string, error) {
	loc := rt.Location
	if loc == nil || loc.Spec.Type != v1alpha1.LocationTypeAzure {
		return azuredisk.ContainerBlobs{}, "", function.Permanent(fmt.Errorf("method vhd stages the copy in a page blob of the ActionSet's Location, which must be of type azure in the DR region"))
	}
	data, err := repository.LocationSecrets(ctx, loc, secretReader(rt))
	if err != nil {
		return azuredisk.ContainerBlobs{}, "", err
	}
	creds := repository.CredentialsFromSecrets(data)
	if creds.AzureAccountName == "" || creds.AzureAccountKey == "" {
		return azuredisk.ContainerBlobs{}, "", function.Permanent(fmt.Errorf("method vhd needs the shared key of Location %s's storage account (azureStorageAccount, azureStorageKey)", loc.Name))
	}
	client, err := azureblob.ContainerClient(&azureblob.Options{Endpoint: loc.Spec.Endpoint, AccountName: creds.AzureAccountName, AccountKey: creds.AzureAccountKey, Container: container})
	if err != nil {
		return azuredisk.ContainerBlobs{}, "", function.Permanent(fmt.Errorf("Location %s: %w", loc.Name, err))
	}
	return azuredisk.ContainerBlobs{Container: client, Poll: time.Second}, creds.AzureAccountName, nil
}

// releaseDRCopy revokes a source's access or deletes a staged blob that
// an interrupted VHD copy left.
func releaseDRCopy(ctx context.Context, rt *function.Runtime, key string) error {
	switch {
	case strings.HasPrefix(key, keyRevoke):
		secret, id, err := revokeKey(key)
		if err != nil {
			return function.Permanent(err)
		}
		cred, err := azureCredential(ctx, rt, secret)
		if err != nil {
			return err
		}
		src, err := azuredisk.ParseSnapshotID(id)
		if err != nil {
			return function.Permanent(err)
		}
		client, err := azuredisk.Snapshots(rt.Clients.Azure, src.SubscriptionID, cred)
		if err != nil {
			return function.Permanent(err)
		}
		return azuredisk.Revoke(ctx, client, id, time.Second)
	case strings.HasPrefix(key, keyBlob):
		container, name, ok := strings.Cut(strings.TrimPrefix(key, keyBlob), "/")
		if !ok {
			return function.Permanent(fmt.Errorf("cleanup key %q has no blob", key))
		}
		blobs, _, err := vhdBlobs(ctx, rt, container)
		if err != nil {
			return err
		}
		return blobs.Delete(ctx, name)
	}
	return function.Permanent(fmt.Errorf("crossRegionCopy: unknown cleanup key %q", key))
}

// revokeKey splits a keyRevoke cleanup key into the credentials Secret
// (maybe empty) and the source snapshot's ARM ID.
func revokeKey(key string) (secret, id string, err error) {
	secret, id, ok := strings.Cut(strings.TrimPrefix(key, keyRevoke), "/")
	if !ok || !strings.HasPrefix(key, keyRevoke) || strings.Trim(id, "/") == "" {
		return "", "", fmt.Errorf("cleanup key %q is not %s<credentials>/<source ID>", key, keyRevoke)
	}
	return secret, "/" + strings.TrimLeft(id, "/"), nil
}
