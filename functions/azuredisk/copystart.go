package azuredisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Methods of a copy.
const (
	MethodCopyStart = "copyStart" // Azure's incremental cross-region copy
	MethodVHD       = "vhd"       // export as a VHD, import in the region
)

// ErrNotOurs marks a target that exists as something else than the copy.
var ErrNotOurs = errors.New("the target exists and is not this copy")

// ErrCopyFailed marks a copy Azure reports as failed (copyCompletionError).
var ErrCopyFailed = errors.New("the copy failed")

// Target is where a copy goes.
type Target struct {
	Subscription, ResourceGroup, Region, Name string
}

// ID is the copy's ARM ID, the DR snapshot's handle.
func (t Target) ID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/snapshots/%s", t.Subscription, t.ResourceGroup, t.Name)
}

// Copy is a finished copy.
type Copy struct {
	SourceID string
	ID       string
	Method   string
	Bytes    int64 // the snapshot's size
}

// Copier copies snapshots into its Snapshots' subscription.
type Copier struct {
	Snapshots *armcompute.SnapshotsClient
	// Poll is how often a copy's state is read.
	Poll time.Duration
	// Progress, when set, hears the percent of one copy done.
	Progress func(percent float32)
}

// CopyStart copies snapshot sourceID to t with CreateOption CopyStart and
// waits until its data is there. A copy of that name already made from
// sourceID (by a run that resumed) is adopted, not started again. One
// copy per disk runs at a time (an Azure rule): while another runs, this
// one waits its turn.
func (c Copier) CopyStart(ctx context.Context, sourceID string, t Target) (Copy, error) {
	snap, err := c.adopt(ctx, t, sourceID)
	if err != nil {
		return Copy{}, err
	}
	if snap == nil {
		if snap, err = c.start(ctx, sourceID, t); err != nil {
			return Copy{}, err
		}
	}
	if snap, err = c.awaitData(ctx, t, snap); err != nil {
		return Copy{}, err
	}
	return Copy{SourceID: sourceID, ID: str(snap.ID), Method: MethodCopyStart, Bytes: bytesOf(snap)}, nil
}

// adopt returns t when it exists as a copy of sourceID, nil when it does
// not exist.
func (c Copier) adopt(ctx context.Context, t Target, sourceID string) (*armcompute.Snapshot, error) {
	got, err := c.Snapshots.Get(ctx, t.ResourceGroup, t.Name, nil)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", t.ID(), err)
	}
	if src := sourceOf(&got.Snapshot); !strings.EqualFold(src, sourceID) {
		return nil, fmt.Errorf("%w: snapshot %s copies %q, not %s", ErrNotOurs, t.ID(), src, sourceID)
	}
	return &got.Snapshot, nil
}

// start creates the copy, waiting while another copy of the same disk
// runs (Azure answers 409 then).
func (c Copier) start(ctx context.Context, sourceID string, t Target) (*armcompute.Snapshot, error) {
	body := armcompute.Snapshot{
		Location: to.Ptr(t.Region),
		Properties: &armcompute.SnapshotProperties{
			Incremental:  to.Ptr(true),
			CreationData: &armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopyStart), SourceResourceID: to.Ptr(sourceID)},
		},
	}
	var snap *armcompute.Snapshot
	err := wait.PollUntilContextCancel(ctx, c.poll(), true, func(ctx context.Context) (bool, error) {
		p, err := c.Snapshots.BeginCreateOrUpdate(ctx, t.ResourceGroup, t.Name, body, nil)
		if busy(err) {
			return false, nil // another copy of the disk runs: wait for it
		}
		if err != nil {
			return false, err
		}
		res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()})
		if err != nil {
			return false, err
		}
		snap = &res.Snapshot
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("start the copy of %s to %s: %w", sourceID, t.ID(), err)
	}
	return snap, nil
}

// awaitData watches the copy until its data is complete: the LRO ending
// means only that the snapshot exists.
func (c Copier) awaitData(ctx context.Context, t Target, snap *armcompute.Snapshot) (*armcompute.Snapshot, error) {
	err := wait.PollUntilContextCancel(ctx, c.poll(), true, func(ctx context.Context) (bool, error) {
		if snap == nil {
			got, err := c.Snapshots.Get(ctx, t.ResourceGroup, t.Name, nil)
			if err != nil {
				return false, fmt.Errorf("read snapshot %s: %w", t.ID(), err)
			}
			snap = &got.Snapshot
		}
		p := snap.Properties
		if p != nil && p.CopyCompletionError != nil {
			e := p.CopyCompletionError
			return false, fmt.Errorf("%w: %s: %s", ErrCopyFailed, str((*string)(e.ErrorCode)), str(e.ErrorMessage))
		}
		done := p != nil && str((*string)(p.ProvisioningState)) == "Succeeded" && (p.CompletionPercent == nil || *p.CompletionPercent >= 100)
		if c.Progress != nil && p != nil && p.CompletionPercent != nil {
			c.Progress(*p.CompletionPercent)
		}
		snap = nil // read it again next time
		return done, nil
	})
	if err != nil {
		return nil, fmt.Errorf("copy to %s: %w", t.ID(), err)
	}
	got, err := c.Snapshots.Get(ctx, t.ResourceGroup, t.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", t.ID(), err)
	}
	return &got.Snapshot, nil
}

// Delete deletes snapshot t; one already gone is deleted.
func (c Copier) Delete(ctx context.Context, t Target) error {
	p, err := c.Snapshots.BeginDelete(ctx, t.ResourceGroup, t.Name, nil)
	if notFound(err) {
		return nil
	}
	if err == nil {
		_, err = p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()})
	}
	if err != nil && !notFound(err) {
		return fmt.Errorf("delete snapshot %s: %w", t.ID(), err)
	}
	return nil
}

func (c Copier) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 10 * time.Second
}

func sourceOf(s *armcompute.Snapshot) string {
	if s.Properties == nil || s.Properties.CreationData == nil {
		return ""
	}
	return str(s.Properties.CreationData.SourceResourceID)
}

func bytesOf(s *armcompute.Snapshot) int64 {
	if s.Properties == nil {
		return 0
	}
	if s.Properties.DiskSizeBytes != nil {
		return *s.Properties.DiskSizeBytes
	}
	if s.Properties.DiskSizeGB != nil {
		return int64(*s.Properties.DiskSizeGB) << 30
	}
	return 0
}

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == 404 && re.ErrorCode != "ResourceGroupNotFound"
}

// busy is Azure refusing a copy while another of the same disk runs.
func busy(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == 409 && re.ErrorCode == "OperationNotAllowed"
}

// ParseSnapshotID splits a snapshot's ARM ID.
func ParseSnapshotID(id string) (*arm.ResourceID, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("%q is not an ARM resource ID: %w", id, err)
	}
	if !strings.EqualFold(r.ResourceType.String(), "Microsoft.Compute/snapshots") {
		return nil, fmt.Errorf("%q is a %s, not a Microsoft.Compute/snapshots", id, r.ResourceType)
	}
	return r, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// MethodFor is the method auto picks for snapshot id: copyStart where it
// is incremental (CopyStart copies only those), else vhd.
func MethodFor(ctx context.Context, client *armcompute.SnapshotsClient, id string) (string, error) {
	r, err := ParseSnapshotID(id)
	if err != nil {
		return "", err
	}
	got, err := client.Get(ctx, r.ResourceGroupName, r.Name, nil)
	if err != nil {
		return "", fmt.Errorf("read the source snapshot %s: %w", id, err)
	}
	if p := got.Properties; p != nil && p.Incremental != nil && *p.Incremental {
		return MethodCopyStart, nil
	}
	return MethodVHD, nil
}
