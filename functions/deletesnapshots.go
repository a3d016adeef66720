package functions

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/mover"
)

// DeleteSnapshots retires a restore point: it deletes each snapshot's
// VolumeSnapshot and VolumeSnapshotContent and, by switching the content's
// deletionPolicy to Delete first, the storage snapshot too. Given exports,
// a mover pod also deletes their kopia snapshots and the restore points
// on the Location that list them. What is gone already counts as done, so
// running it twice is harmless.
func DeleteSnapshots() function.Function {
	return function.Typed[DeleteSnapshotsArgs, DeleteSnapshotsOutputs]{Sig: deleteSnapshotsSignature, Run: runDeleteSnapshots, Rel: releaseMoverObject}
}

var deleteSnapshotsSignature = function.Signature{
	Name: "deleteSnapshots",
	Doc:  "Deletes a restore point's snapshots with their storage, and its exports on the Location; what is gone already counts as deleted.",
	Args: []function.Arg{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Required: true,
			Doc: "the snapshots to delete, e.g. ${{ artifacts.snapshots }}"},
		{Name: "exports", Type: cel.ListType(exportObject.Type()), Default: []any{},
			Doc: "the exports to delete from the Location, with the restore points there that list them, e.g. ${{ artifacts.exports }}; their data is freed by the next kopia maintenance (kubectl snapflow retention)"},
		{Name: "location", Type: cel.StringType, Default: "", Doc: "the Location holding the exports, e.g. ${{ location.name }}"},
		{Name: "drCopies", Type: cel.ListType(drCopyObject.Type()), Default: []any{},
			Doc: "crossRegionCopy's copies to delete from the DR region, e.g. ${{ artifacts.drCopies }}"},
		{Name: "credentials", Type: cel.StringType, Default: "",
			Doc: "with drCopies: the Secret with the Azure credential, as crossRegionCopy's"},
	},
	Outputs: []function.Output{
		{Name: "deleted", Type: cel.IntType, Doc: "how many of the snapshots this call found and deleted"},
		{Name: "exportsDeleted", Type: cel.IntType, Doc: "how many of the exports' kopia snapshots this call found and deleted"},
		{Name: "drCopiesDeleted", Type: cel.IntType, Doc: "how many DR copies were deleted (or were gone)"},
	},
}

// DeleteSnapshotsArgs are deleteSnapshots' arguments.
type DeleteSnapshotsArgs struct {
	Snapshots   []SnapshotRecord `json:"snapshots"`
	Exports     []ExportRecord   `json:"exports"`
	Location    string           `json:"location"`
	DRCopies    []DRCopy         `json:"drCopies"`
	Credentials string           `json:"credentials"`
}

// DeleteSnapshotsOutputs are deleteSnapshots' outputs.
type DeleteSnapshotsOutputs struct {
	Deleted         int `json:"deleted"`
	ExportsDeleted  int `json:"exportsDeleted"`
	DRCopiesDeleted int `json:"drCopiesDeleted"`
}

func runDeleteSnapshots(ctx context.Context, rt *function.Runtime, in DeleteSnapshotsArgs) (DeleteSnapshotsOutputs, error) {
	if err := rt.Clients.Check(function.UsesSnapshots); err != nil {
		return DeleteSnapshotsOutputs{}, err
	}
	var out DeleteSnapshotsOutputs
	if len(in.Exports) > 0 {
		n, err := forgetExports(ctx, rt, in.Location, in.Exports)
		if err != nil {
			return out, err
		}
		out.ExportsDeleted = n
	}
	if len(in.DRCopies) > 0 {
		n, err := deleteDRCopies(ctx, rt, in.Credentials, in.DRCopies)
		out.DRCopiesDeleted = n
		if err != nil {
			return out, err
		}
	}
	groups := map[string]bool{}
	for _, s := range in.Snapshots {
		found := false
		if key := s.Namespace + "/" + s.Group; s.Group != "" && !groups[key] {
			// A group's members go with it; deleting them alone may be refused.
			groups[key] = true
			ok, _, err := retireGroup(ctx, rt.Clients.Snapshots, s.Namespace, s.Group)
			if err != nil {
				return out, err
			}
			found = ok
		}
		contents, err := recordContents(ctx, rt, s)
		if err != nil {
			return out, err
		}
		ok, err := retireSnapshot(ctx, rt.Clients.Snapshots, s.Namespace, s.VolumeSnapshot, contents...)
		if err != nil {
			return out, err
		}
		if found || ok {
			out.Deleted++
		}
	}
	msg := fmt.Sprintf("deleted %d snapshots", out.Deleted)
	if gone := len(in.Snapshots) - out.Deleted; gone > 0 {
		msg += fmt.Sprintf("; %d were gone already", gone)
	}
	if len(in.Exports) > 0 {
		msg += fmt.Sprintf("; deleted %d of %d exports from Location %s", out.ExportsDeleted, len(in.Exports), in.Location)
	}
	if len(in.DRCopies) > 0 {
		msg += fmt.Sprintf("; deleted %d DR copies", out.DRCopiesDeleted)
	}
	rt.Message(msg)
	return out, nil
}

// forgetExports deletes the exports' kopia snapshots, and the restore
// points listing them, through a mover pod in the ActionSet's namespace
// (the exported claims' namespace may be gone).
func forgetExports(ctx context.Context, rt *function.Runtime, location string, exports []ExportRecord) (int, error) {
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return 0, err
	}
	if location == "" {
		return 0, function.Permanent(errors.New("exports need the location that holds them"))
	}
	loc, err := locationOf(rt, location)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(exports))
	for _, e := range exports {
		ids = append(ids, e.SnapshotID)
	}
	job := moverJob{
		mode: mover.ModeForget, namespace: rt.Action.Namespace, name: rt.Names.Name("forget"),
		timeout: manifestMoverTimeout, request: mover.Request{Location: loc.Spec, SnapshotIDs: ids},
	}
	line, err := runMover(ctx, rt, newMoverCredentials(loc), job)
	if err != nil {
		return 0, fmt.Errorf("delete exports from Location %s: %w", location, err)
	}
	return line.Forgotten.Snapshots, nil
}

// recordContents finds the contents of a snapshot: by name, or, when that
// is gone (a restore point imported into another cluster, say), by its
// storage handle.
func recordContents(ctx context.Context, rt *function.Runtime, s SnapshotRecord) ([]string, error) {
	if s.Content != "" {
		_, err := rt.Clients.Snapshots.SnapshotV1().VolumeSnapshotContents().Get(ctx, s.Content, metav1.GetOptions{})
		if err == nil {
			return []string{s.Content}, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("get VolumeSnapshotContent %s: %w", s.Content, err)
		}
	}
	if s.SnapshotHandle == "" {
		return nil, nil
	}
	return contentsByHandle(ctx, rt.Clients.Snapshots, s.Driver, s.SnapshotHandle)
}
