package repository

import (
	"context"
	"fmt"
	"sync"

	"github.com/kopia/kopia/repo/blob"
)

// kopia's repo.Open takes only a config file and rebuilds the storage from
// it through kopia's global storage registry. To hand kopia a storage that
// Open already has (any blob.Storage, including azureblob, with credentials
// that must not be written to disk), the config names a "bridge" storage
// whose only setting is a random handle, and the bridge factory returns the
// storage registered under that handle. Handles live only while Open runs.
//
// This is the package's one piece of mutable state, forced by kopia's
// registry API: registration happens once, on the first Open, and the map
// is safe for concurrent use.

// bridgeStorageType is the kopia storage type of the bridge.
const bridgeStorageType = "snapflow-open-storage"

// bridgeConfig is the bridge's kopia storage config.
type bridgeConfig struct {
	Handle string `json:"handle"`
}

var (
	bridgeRegister sync.Once
	bridgeOpen     sync.Map // handle -> blob.Storage
)

func bridgeAdd(handle string, st blob.Storage) {
	bridgeRegister.Do(func() {
		blob.AddSupportedStorage(bridgeStorageType, bridgeConfig{}, bridgeFactory)
	})
	bridgeOpen.Store(handle, st)
}

func bridgeRemove(handle string) {
	bridgeOpen.Delete(handle)
}

func bridgeFactory(_ context.Context, c *bridgeConfig, _ bool) (blob.Storage, error) {
	v, ok := bridgeOpen.Load(c.Handle)
	if !ok {
		return nil, fmt.Errorf("storage handle %s is not being opened in this process", c.Handle)
	}

	st, _ := v.(blob.Storage)

	return callerClosed{st}, nil
}

// callerClosed keeps kopia from closing a storage that Open's caller owns.
type callerClosed struct {
	blob.Storage
}

func (callerClosed) Close(context.Context) error { return nil }
