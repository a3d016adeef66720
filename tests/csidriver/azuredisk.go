package csidriver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/tests/localarm"
)

// AzureDiskConfig gives the driver the Azure Disk CSI driver's personality:
// every volume is also a managed disk in an Azure Resource Manager (the
// local one, tests/localarm) and every snapshot an incremental
// Microsoft.Compute snapshot whose ARM ID is its handle, so snapshots
// copied to another region by crossRegionCopy restore as on Azure.
type AzureDiskConfig struct {
	Cloud                               function.AzureCloud
	Credential                          azcore.TokenCredential
	Subscription, ResourceGroup, Region string
	// Data moves the disks' bytes: ARM has no data-plane API for them.
	Data *localarm.DataClient
}

func (c *AzureDiskConfig) validate() error {
	if c.Credential == nil || c.Data == nil || c.Subscription == "" || c.ResourceGroup == "" || c.Region == "" {
		return errors.New("csi driver config: AzureDisk needs Credential, Data, Subscription, ResourceGroup and Region")
	}
	return nil
}

// azureDisk is the ARM side of the personality.
type azureDisk struct {
	cfg   AzureDiskConfig
	disks *armcompute.DisksClient // of cfg.Subscription
	snaps *armcompute.SnapshotsClient
}

func newAzureDisk(c AzureDiskConfig) (*azureDisk, error) {
	disks, err := azuredisk.Disks(c.Cloud, c.Subscription, c.Credential)
	if err != nil {
		return nil, err
	}
	snaps, err := azuredisk.Snapshots(c.Cloud, c.Subscription, c.Credential)
	if err != nil {
		return nil, err
	}
	return &azureDisk{cfg: c, disks: disks, snaps: snaps}, nil
}

// EnvironmentCredential is the service principal that AZURE_TENANT_ID,
// AZURE_CLIENT_ID and AZURE_CLIENT_SECRET name, getting tokens from c's
// authority host or AZURE_AUTHORITY_HOST: secrets stay off command lines.
func EnvironmentCredential(c function.AzureCloud) (azcore.TokenCredential, error) {
	pub := cloud.AzurePublic
	conf := cloud.Configuration{
		ActiveDirectoryAuthorityHost: cmp.Or(c.AuthorityHost, os.Getenv("AZURE_AUTHORITY_HOST"), pub.ActiveDirectoryAuthorityHost),
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
			Endpoint: cmp.Or(c.ResourceManager, pub.Services[cloud.ResourceManager].Endpoint),
			Audience: cmp.Or(c.Audience, pub.Services[cloud.ResourceManager].Audience),
		}},
	}
	opts := azcore.ClientOptions{Cloud: conf, InsecureAllowCredentialWithHTTP: c.AllowHTTP}
	if c.HTTPClient != nil {
		opts.Transport = c.HTTPClient
	}
	cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, fmt.Errorf("azure credential from the environment: %w", err)
	}
	return cred, nil
}

// ARMToken gets cred's bearer tokens for ARM's audience, as DataClient.Token.
func ARMToken(cred azcore.TokenCredential, audience string) func(context.Context) (string, error) {
	scope := strings.TrimSuffix(cmp.Or(audience, cloud.AzurePublic.Services[cloud.ResourceManager].Audience), "/") + "/.default"
	return func(ctx context.Context) (string, error) {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("get an ARM token: %w", err)
		}
		return tok.Token, nil
	}
}

// armPoll paces LRO polling: the local ARM sends no Retry-After, and
// PollUntilDone refuses less than a second outside tests.
const armPoll = 100 * time.Millisecond

// pollDone polls p, which err came with, until its LRO ends.
func pollDone[T any](ctx context.Context, p *runtime.Poller[T], err error) (T, error) {
	var zero T
	for err == nil && !p.Done() {
		if _, err = p.Poll(ctx); err != nil || p.Done() {
			break
		}
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("poll: %w", ctx.Err())
		case <-time.After(armPoll):
		}
	}
	if err != nil {
		return zero, err
	}
	return p.Result(ctx)
}

const gib = 1 << 30

// createAzureVolume creates a disk (empty, or a copy of the source) and
// its directory, filled from the disk's tar stream. The caller holds d.mu
// and has checked that the name is new.
func (d *driver) createAzureVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*volume, error) {
	v := &volume{Name: req.GetName(), Parameters: req.GetParameters(), CreatedAt: time.Now().UTC()}
	cd, minBytes, err := d.azureSource(ctx, req.GetVolumeContentSource(), v)
	if err == nil {
		v.CapacityBytes, err = diskCapacity(req.GetCapacityRange(), minBytes)
	}
	if err != nil {
		return nil, err
	}
	a := d.az
	p, err := a.disks.BeginCreateOrUpdate(ctx, a.cfg.ResourceGroup, armName(v.Name), armcompute.Disk{
		Location:   to.Ptr(a.cfg.Region),
		Properties: &armcompute.DiskProperties{DiskSizeGB: to.Ptr(int32(v.CapacityBytes / gib)), CreationData: &cd},
	}, nil)
	disk, err := pollDone(ctx, p, err)
	if err == nil && disk.ID == nil {
		err = errors.New("ARM returned no ID")
	}
	if err != nil {
		return nil, armStatus("create disk", err)
	}
	v.ID = *disk.ID
	if disk.Properties != nil && disk.Properties.DiskSizeBytes != nil {
		v.CapacityBytes = *disk.Properties.DiskSizeBytes // an interrupted attempt may have made it
	}
	copied, err := d.fillVolume(ctx, v, *cd.CreateOption != armcompute.DiskCreateOptionEmpty)
	if err != nil {
		return nil, err
	}
	d.st.Volumes[v.ID] = v
	d.st.BytesCopied += copied
	d.st.PerVolume[v.ID] = copied
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return v, nil
}

// azureSource records the content source in v and returns how to create
// the disk and the source's size. A clone's files go to its disk first.
func (d *driver) azureSource(ctx context.Context, src *csi.VolumeContentSource, v *volume) (armcompute.CreationData, int64, error) {
	copyOf := func(id string) armcompute.CreationData {
		return armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: to.Ptr(id)}
	}
	switch {
	case src == nil:
		return armcompute.CreationData{CreateOption: to.Ptr(armcompute.DiskCreateOptionEmpty)}, 0, nil
	case src.GetSnapshot() != nil:
		id := src.GetSnapshot().GetSnapshotId()
		v.SourceSnapshot = id
		size, err := d.az.snapshotSize(ctx, id)
		return copyOf(id), size, err
	case src.GetVolume() != nil:
		id := src.GetVolume().GetVolumeId()
		sv := d.st.Volumes[id]
		if sv == nil {
			return armcompute.CreationData{}, 0, status.Errorf(codes.NotFound, "source volume %q not found", id)
		}
		v.SourceVolume = id
		return copyOf(id), sv.CapacityBytes, d.packVolume(ctx, sv)
	}
	return armcompute.CreationData{}, 0, status.Error(codes.InvalidArgument, "unsupported volume content source")
}

// diskCapacity is capacityFor in whole GiB, as managed disks come.
func diskCapacity(r *csi.CapacityRange, minBytes int64) (int64, error) {
	c, err := capacityFor(r, minBytes)
	if err != nil {
		return 0, err
	}
	c = (c + gib - 1) / gib * gib
	if lim := r.GetLimitBytes(); lim > 0 && c > lim {
		return 0, status.Errorf(codes.OutOfRange, "a managed disk of at least the %d bytes asked is %d bytes (whole GiB), over the limit of %d", r.GetRequiredBytes(), c, lim)
	}
	return c, nil
}

// snapshotSize returns the size of the ARM snapshot id; NotFound if there
// is none.
func (a *azureDisk) snapshotSize(ctx context.Context, id string) (int64, error) {
	s, err := a.getSnapshot(ctx, id)
	if err != nil {
		return 0, err
	}
	if s == nil {
		return 0, status.Errorf(codes.NotFound, "source snapshot %q not found", id)
	}
	return snapshotBytes(s), nil
}

// getSnapshot GETs the ARM snapshot id, in any subscription; nil if it
// does not exist.
func (a *azureDisk) getSnapshot(ctx context.Context, id string) (*armcompute.Snapshot, error) {
	ref, ok := parseARMID(id, "snapshots")
	if !ok {
		return nil, nil
	}
	_, client, err := a.clientsIn(ref.sub)
	if err != nil {
		return nil, internalErr(err)
	}
	resp, err := client.Get(ctx, ref.rg, ref.name, nil)
	switch {
	case notFound(err):
		return nil, nil
	case err != nil:
		return nil, armStatus("get snapshot", err)
	}
	return &resp.Snapshot, nil
}

// createAzureSnapshot packs v onto its disk and snapshots the disk in the
// driver's region: incrementally unless the class says incremental:
// "false", as the Azure Disk CSI driver's parameter does. The caller holds
// d.mu.
func (d *driver) createAzureSnapshot(ctx context.Context, name string, v *volume, incremental bool) (*snapshot, error) {
	if err := d.packVolume(ctx, v); err != nil {
		return nil, err
	}
	a := d.az
	p, err := a.snaps.BeginCreateOrUpdate(ctx, a.cfg.ResourceGroup, armName(name), armcompute.Snapshot{
		Location: to.Ptr(a.cfg.Region),
		Properties: &armcompute.SnapshotProperties{Incremental: to.Ptr(incremental), CreationData: &armcompute.CreationData{
			CreateOption: to.Ptr(armcompute.DiskCreateOptionCopy), SourceResourceID: to.Ptr(v.ID),
		}},
	}, nil)
	s, err := pollDone(ctx, p, err)
	if err == nil && s.ID == nil {
		err = errors.New("ARM returned no ID")
	}
	if err != nil {
		return nil, armStatus("create snapshot", err)
	}
	sn := &snapshot{ID: *s.ID, Name: name, SourceVolumeID: v.ID, SizeBytes: snapshotBytes(&s.Snapshot), CreatedAt: time.Now().UTC()}
	if s.Properties != nil && s.Properties.TimeCreated != nil {
		sn.CreatedAt = s.Properties.TimeCreated.UTC()
	}
	d.st.Snapshots[sn.ID] = sn
	if err := d.commit(); err != nil {
		return nil, internalErr(err)
	}
	return sn, nil
}

// listAzureSnapshot answers ListSnapshots for one snapshot ID from ARM: a
// pre-provisioned VolumeSnapshotContent may name a snapshot this driver
// never made, such as a DR copy.
func (a *azureDisk) listAzureSnapshot(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	s, err := a.getSnapshot(ctx, req.GetSnapshotId())
	if err != nil {
		return nil, err
	}
	if s == nil {
		return &csi.ListSnapshotsResponse{}, nil
	}
	out := &csi.Snapshot{SnapshotId: req.GetSnapshotId(), SizeBytes: snapshotBytes(s), ReadyToUse: snapshotReady(s)}
	if p := s.Properties; p != nil {
		if p.TimeCreated != nil {
			out.CreationTime = timestamppb.New(*p.TimeCreated)
		}
		if cd := p.CreationData; cd != nil && cd.SourceResourceID != nil {
			if _, ok := parseARMID(*cd.SourceResourceID, "disks"); ok {
				out.SourceVolumeId = *cd.SourceResourceID
			}
		}
	}
	if src := req.GetSourceVolumeId(); src != "" && src != out.SourceVolumeId {
		return &csi.ListSnapshotsResponse{}, nil
	}
	return &csi.ListSnapshotsResponse{Entries: []*csi.ListSnapshotsResponse_Entry{{Snapshot: out}}}, nil
}

// snapshotReady is the Azure Disk CSI driver's rule: provisioned, and a
// copy (CopyStart) complete; a nil completionPercent is complete.
func snapshotReady(s *armcompute.Snapshot) bool {
	p := s.Properties
	return p != nil && p.ProvisioningState != nil && *p.ProvisioningState == "Succeeded" &&
		p.CopyCompletionError == nil && (p.CompletionPercent == nil || *p.CompletionPercent >= 100)
}

func snapshotBytes(s *armcompute.Snapshot) int64 {
	switch p := s.Properties; {
	case p == nil:
	case p.DiskSizeBytes != nil:
		return *p.DiskSizeBytes
	case p.DiskSizeGB != nil:
		return int64(*p.DiskSizeGB) * gib
	}
	return 0
}

// deleteARM deletes the disk or snapshot id, in any subscription; gone
// already, or not an ARM ID of that kind, is done.
func (a *azureDisk) deleteARM(ctx context.Context, kind, id string) error {
	ref, ok := parseARMID(id, kind)
	if !ok {
		return nil
	}
	disks, snaps, err := a.clientsIn(ref.sub)
	if err == nil && kind == "disks" {
		p, perr := disks.BeginDelete(ctx, ref.rg, ref.name, nil)
		_, err = pollDone(ctx, p, perr)
	} else if err == nil {
		p, perr := snaps.BeginDelete(ctx, ref.rg, ref.name, nil)
		_, err = pollDone(ctx, p, perr)
	}
	if err != nil && !notFound(err) {
		return armStatus("delete "+strings.TrimSuffix(kind, "s"), err)
	}
	return nil
}

// clientsIn returns clients of subscription sub: an ID may name another.
func (a *azureDisk) clientsIn(sub string) (*armcompute.DisksClient, *armcompute.SnapshotsClient, error) {
	if strings.EqualFold(sub, a.cfg.Subscription) {
		return a.disks, a.snaps, nil
	}
	disks, err := azuredisk.Disks(a.cfg.Cloud, sub, a.cfg.Credential)
	if err != nil {
		return nil, nil, err
	}
	snaps, err := azuredisk.Snapshots(a.cfg.Cloud, sub, a.cfg.Credential)
	return disks, snaps, err
}

// deleteDisk deletes the Azure disk of volume id, if any.
func (d *driver) deleteDisk(ctx context.Context, id string) error {
	if d.az == nil {
		return nil
	}
	return d.az.deleteARM(ctx, "disks", id)
}
