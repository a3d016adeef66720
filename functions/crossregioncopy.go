package functions

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/azuredisk"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// CrossRegionCopy copies a restore point's Azure managed-disk snapshots to
// another region, so a DR restore there is a snapshot restore, not a
// download: Azure's incremental CopyStart where the source is incremental,
// else a VHD through a page blob of the DR region.
func CrossRegionCopy() function.Function {
	return function.Typed[CrossRegionCopyArgs, CrossRegionCopyOutputs]{Sig: crossRegionCopySignature, Run: runCrossRegionCopy, Rel: releaseDRCopy}
}

var drCopyObject = objectOf[DRCopy]("DRCopy", "a snapshot copied to another region")

var crossRegionCopySignature = function.Signature{
	Name: "crossRegionCopy",
	Doc:  "Copies a restore point's Azure managed-disk snapshots to another region and resource group, for a DR restore there.",
	Args: []function.Arg{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Required: true,
			Doc: "the snapshots to copy, of the Azure Disk CSI driver (their handle is the snapshot's ARM ID), e.g. ${{ phases.snap.snapshots }}"},
		{Name: "region", Type: cel.StringType, Required: true, Doc: "the DR region, e.g. westus"},
		{Name: "resourceGroup", Type: cel.StringType, Required: true, Doc: "the resource group in the DR subscription the copies go to"},
		{Name: "subscription", Type: cel.StringType, Default: "", Doc: "the DR subscription; empty means each source's"},
		{Name: "method", Type: cel.StringType, Default: "auto",
			Doc: `"copyStart" (Azure's incremental copy), "vhd" (through a page blob in the DR Location's storage account; any snapshot), or "auto": copyStart where the source is incremental, else vhd`},
		{Name: "credentials", Type: cel.StringType, Default: "",
			Doc: "Secret in the ActionSet's namespace with azureTenantID, azureClientID and azureClientSecret; empty means the controller's workload or managed identity"},
		{Name: "vhdContainer", Type: cel.StringType, Default: "vhdcontainers", Doc: "with vhd: the container of the ActionSet's Location (type azure, in the DR region) that stages the VHDs; they are deleted once imported"},
		{Name: "storageAccount", Type: cel.StringType, Default: "",
			Doc: "with vhd: the ARM ID of that Location's storage account, which the import names; empty means the account in the DR subscription and resourceGroup"},
		{Name: "parallel", Type: cel.IntType, Default: 4, Doc: "how many disks copy at once; copies of one disk always go one at a time, oldest first"},
		{Name: "timeout", Type: cel.DurationType, Default: "6h", Doc: "how long one copy may take"},
		{Name: "pollInterval", Type: cel.DurationType, Default: "10s", Doc: "how often a copy's progress is read"},
	},
	Outputs: []function.Output{
		{Name: "copies", Type: cel.ListType(drCopyObject.Type()), Doc: "one copy per snapshot, in order; give them to the restore point, e.g. export's artifacts {'drCopies': phases.dr.copies}"},
	},
	Objects: []celenv.Object{drCopyObject},
}

// CrossRegionCopyArgs are crossRegionCopy's arguments.
type CrossRegionCopyArgs struct {
	Snapshots      []SnapshotRecord `json:"snapshots"`
	Region         string           `json:"region"`
	ResourceGroup  string           `json:"resourceGroup"`
	Subscription   string           `json:"subscription"`
	Method         string           `json:"method"`
	Credentials    string           `json:"credentials"`
	VHDContainer   string           `json:"vhdContainer"`
	StorageAccount string           `json:"storageAccount"`
	Parallel       int              `json:"parallel"`
	Timeout        metav1.Duration  `json:"timeout"`
	PollInterval   metav1.Duration  `json:"pollInterval"`
}

// CrossRegionCopyOutputs are crossRegionCopy's outputs.
type CrossRegionCopyOutputs struct {
	Copies []DRCopy `json:"copies"`
}

// DRCopy is one snapshot copied to the DR region, the CEL type
// snapflow.DRCopy.
type DRCopy struct {
	PVC            string `json:"pvc" doc:"the claim the snapshot is of"`
	Namespace      string `json:"namespace" doc:"its namespace"`
	VolumeSnapshot string `json:"volumeSnapshot" doc:"the source VolumeSnapshot"`
	Driver         string `json:"driver" doc:"the CSI driver, which restores the copy in the DR cluster"`
	SourceID       string `json:"sourceID" doc:"the source snapshot's ARM ID"`
	SnapshotID     string `json:"snapshotID" doc:"the copy's ARM ID: its snapshot handle in the DR cluster"`
	Region         string `json:"region" doc:"the DR region"`
	ResourceGroup  string `json:"resourceGroup" doc:"the copy's resource group"`
	Method         string `json:"method" doc:"copyStart or vhd"`
	Bytes          int64  `json:"bytes" doc:"the snapshot's size in bytes"`
	Duration       string `json:"duration" doc:"how long the copy took"`
}

func runCrossRegionCopy(ctx context.Context, rt *function.Runtime, in CrossRegionCopyArgs) (CrossRegionCopyOutputs, error) {
	if err := in.validate(); err != nil {
		return CrossRegionCopyOutputs{}, function.Permanent(err)
	}
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return CrossRegionCopyOutputs{}, err
	}
	cred, err := azureCredential(ctx, rt, in.Credentials)
	if err != nil {
		return CrossRegionCopyOutputs{}, err
	}
	c := &drCopier{rt: rt, in: in, cred: cred, done: make([]float32, len(in.Snapshots))}
	out := CrossRegionCopyOutputs{Copies: make([]DRCopy, len(in.Snapshots))}
	err = c.each(ctx, func(ctx context.Context, i int) error {
		cp, err := c.copyOne(ctx, i)
		out.Copies[i] = cp
		return err
	})
	if err != nil {
		return CrossRegionCopyOutputs{}, err
	}
	rt.Message(fmt.Sprintf("copied %d snapshots to %s/%s", len(out.Copies), in.Region, in.ResourceGroup))
	return out, nil
}

func (in CrossRegionCopyArgs) validate() error {
	switch {
	case in.Region == "" || in.ResourceGroup == "":
		return fmt.Errorf("region and resourceGroup must be set")
	case !slices.Contains([]string{"auto", azuredisk.MethodCopyStart, azuredisk.MethodVHD}, in.Method):
		return fmt.Errorf("method %q is not auto, %s or %s", in.Method, azuredisk.MethodCopyStart, azuredisk.MethodVHD)
	case in.Parallel < 1:
		return fmt.Errorf("parallel must be at least 1, got %d", in.Parallel)
	case in.Timeout.Duration <= 0 || in.PollInterval.Duration <= 0:
		return fmt.Errorf("timeout and pollInterval must be positive")
	}
	for _, s := range in.Snapshots {
		if _, err := azuredisk.ParseSnapshotID(s.SnapshotHandle); err != nil {
			return fmt.Errorf("snapshot of claim %s/%s: %w", s.Namespace, s.PVC, err)
		}
	}
	return nil
}

// azureCredential is the run's credential: the service principal in
// Secret name of the ActionSet's namespace, or the controller's identity.
func azureCredential(ctx context.Context, rt *function.Runtime, name string) (azcoreCredential, error) {
	var data map[string][]byte
	if name != "" {
		s, err := rt.Clients.Kube.CoreV1().Secrets(rt.Action.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read the credentials Secret %s/%s: %w", rt.Action.Namespace, name, err)
		}
		data = s.Data
		if data == nil {
			data = map[string][]byte{}
		}
	}
	cred, err := azuredisk.Credential(rt.Clients.Azure, data)
	if err != nil {
		return nil, function.Permanent(err)
	}
	return cred, nil
}

// drCopier is one call's copies.
type drCopier struct {
	rt   *function.Runtime
	in   CrossRegionCopyArgs
	cred azcoreCredential
	mu   sync.Mutex
	done []float32 // percent done per snapshot
}

// each runs f for every snapshot: the snapshots of one disk one after
// another, oldest first, and disks in parallel up to in.Parallel. The
// first error cancels the others.
func (c *drCopier) each(ctx context.Context, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, c.in.Parallel)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, disk := range byDisk(c.in.Snapshots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, i := range disk {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// byDisk groups snapshot indexes by claim (one disk each), each group in
// creation order.
func byDisk(snaps []SnapshotRecord) [][]int {
	groups := map[string][]int{}
	var keys []string
	for i, s := range snaps {
		k := s.Namespace + "/" + s.PVC
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([][]int, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		slices.SortStableFunc(g, func(a, b int) int { return cmpTime(snaps[a].CreationTime, snaps[b].CreationTime) })
		out = append(out, g)
	}
	return out
}

func cmpTime(a, b string) int {
	ta, _ := time.Parse(time.RFC3339, a)
	tb, _ := time.Parse(time.RFC3339, b)
	return ta.Compare(tb)
}

// progress reports snapshot i at pct percent, as the mean of all.
func (c *drCopier) progress(i int, pct float32) {
	c.mu.Lock()
	c.done[i] = min(pct, 100)
	var sum float32
	for _, d := range c.done {
		sum += d
	}
	n := len(c.done)
	c.mu.Unlock()
	c.rt.Progress.Report(v1alpha1.Progress{Percent: int32(sum / float32(max(n, 1)))})
}
