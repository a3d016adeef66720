package functions

// crossRegionCopy's copy of one snapshot.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
)

type azcoreCredential = azcore.TokenCredential

// copyOne copies snapshot i into the DR resource group under a name
// derived from the run, so a resumed call adopts the copy in flight.
func (c *drCopier) copyOne(ctx context.Context, i int) (DRCopy, error) {
	s := c.in.Snapshots[i]
	src, err := azuredisk.ParseSnapshotID(s.SnapshotHandle)
	if err != nil {
		return DRCopy{}, function.Permanent(err)
	}
	sub := c.in.Subscription
	if sub == "" {
		sub = src.SubscriptionID
	}
	client, err := azuredisk.Snapshots(c.rt.Clients.Azure, sub, c.cred)
	if err != nil {
		return DRCopy{}, function.Permanent(err)
	}
	target := azuredisk.Target{Subscription: sub, ResourceGroup: c.in.ResourceGroup, Region: c.in.Region,
		Name: c.rt.Names.Name("dr-" + s.Namespace + "-" + s.PVC)}
	copier := azuredisk.Copier{Snapshots: client, Poll: c.in.PollInterval.Duration, Progress: func(p float32) { c.progress(i, p) }}
	ctx, cancel := context.WithTimeout(ctx, c.in.Timeout.Duration)
	defer cancel()
	start := c.rt.Clock.Now()
	method, err := c.method(ctx, src.SubscriptionID, s.SnapshotHandle)
	if err != nil {
		return DRCopy{}, c.fail(s, err)
	}
	var cp azuredisk.Copy
	switch method {
	case azuredisk.MethodCopyStart:
		cp, err = copier.CopyStart(ctx, s.SnapshotHandle, target)
	default:
		cp, err = c.vhdCopy(ctx, copier, i, target)
	}
	if errors.Is(err, azuredisk.ErrCopyFailed) && !function.Interrupted(ctx) {
		// A failed copy is useless: delete it, so a retry starts afresh.
		cctx, ccancel := cleanupContext(ctx)
		err = errors.Join(err, copier.Delete(cctx, target))
		ccancel()
	}
	if err != nil {
		return DRCopy{}, c.fail(s, err)
	}
	c.progress(i, 100)
	return DRCopy{
		PVC: s.PVC, Namespace: s.Namespace, VolumeSnapshot: s.VolumeSnapshot, Driver: s.Driver,
		SourceID: cp.SourceID, SnapshotID: cp.ID, Region: c.in.Region, ResourceGroup: c.in.ResourceGroup,
		Method: cp.Method, Bytes: cp.Bytes, Duration: c.rt.Clock.Since(start).Round(time.Millisecond).String(),
	}, nil
}

// method is the copy method for the source snapshot id: the one asked
// for, or with auto, copyStart for an incremental source, else vhd.
func (c *drCopier) method(ctx context.Context, subscription, id string) (string, error) {
	if c.in.Method != "auto" {
		return c.in.Method, nil
	}
	client, err := azuredisk.Snapshots(c.rt.Clients.Azure, subscription, c.cred)
	if err != nil {
		return "", err
	}
	return azuredisk.MethodFor(ctx, client, id)
}

// fail names the snapshot in err, and makes it permanent when Azure says
// no retry can help.
func (c *drCopier) fail(s SnapshotRecord, err error) error {
	err = fmt.Errorf("copy the snapshot of claim %s/%s to %s/%s: %w", s.Namespace, s.PVC, c.in.Region, c.in.ResourceGroup, err)
	if code := azuredisk.ErrorCode(err); code != "" {
		err = fmt.Errorf("%w (Azure error %s)", err, code)
	}
	if azuredisk.Permanent(err) {
		return function.Permanent(err)
	}
	return err
}

// deleteDRCopies deletes crossRegionCopy's copies; those gone count as
// deleted.
func deleteDRCopies(ctx context.Context, rt *function.Runtime, credentials string, copies []DRCopy) (int, error) {
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return 0, err
	}
	cred, err := azureCredential(ctx, rt, credentials)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range copies {
		id, err := azuredisk.ParseSnapshotID(c.SnapshotID)
		if err != nil {
			return n, function.Permanent(err)
		}
		client, err := azuredisk.Snapshots(rt.Clients.Azure, id.SubscriptionID, cred)
		if err != nil {
			return n, function.Permanent(err)
		}
		copier := azuredisk.Copier{Snapshots: client, Poll: time.Second}
		t := azuredisk.Target{Subscription: id.SubscriptionID, ResourceGroup: id.ResourceGroupName, Name: id.Name}
		if err := copier.Delete(ctx, t); err != nil {
			err = fmt.Errorf("delete the DR copy of claim %s/%s: %w", c.Namespace, c.PVC, err)
			if azuredisk.Permanent(err) {
				err = function.Permanent(err)
			}
			return n, err
		}
		n++
	}
	return n, nil
}
