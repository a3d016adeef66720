package functions

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeleteSnapshots retires a restore point: it deletes each snapshot's
// VolumeSnapshot and VolumeSnapshotContent and, by switching the content's
// deletionPolicy to Delete first, the storage snapshot too. What is gone
// already counts as done, so running it twice is harmless.
func DeleteSnapshots() Function {
	return Typed[DeleteSnapshotsArgs, DeleteSnapshotsOutputs]{Sig: deleteSnapshotsSignature, Run: runDeleteSnapshots}
}

var deleteSnapshotsSignature = Signature{
	Name: "deleteSnapshots",
	Doc:  "Deletes a restore point's snapshots with their storage; snapshots already gone count as deleted.",
	Args: []Arg{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Required: true,
			Doc: "the snapshots to delete, e.g. ${{ artifacts.snapshots }}"},
	},
	Outputs: []Output{
		{Name: "deleted", Type: cel.IntType, Doc: "how many of the snapshots this call found and deleted"},
	},
}

// DeleteSnapshotsArgs are deleteSnapshots' arguments.
type DeleteSnapshotsArgs struct {
	Snapshots []SnapshotRecord `json:"snapshots"`
}

// DeleteSnapshotsOutputs are deleteSnapshots' outputs.
type DeleteSnapshotsOutputs struct {
	Deleted int `json:"deleted"`
}

func runDeleteSnapshots(ctx context.Context, rt *Runtime, in DeleteSnapshotsArgs) (DeleteSnapshotsOutputs, error) {
	if err := rt.Clients.Check(UsesSnapshots); err != nil {
		return DeleteSnapshotsOutputs{}, err
	}
	var out DeleteSnapshotsOutputs
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
	rt.Message(msg)
	return out, nil
}

// recordContents finds the contents of a snapshot: by name, or, when that
// is gone (a restore point imported into another cluster, say), by its
// storage handle.
func recordContents(ctx context.Context, rt *Runtime, s SnapshotRecord) ([]string, error) {
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
