package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/kopia/kopia/repo"
	"github.com/kopia/kopia/repo/manifest"
	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// RestorePointType is the kopia manifest "type" label of restore points.
const RestorePointType = "snapflow-restore-point"

// Labels on restore point manifests besides "type", for filtering with
// `kopia manifest list --filter=...`.
const (
	LabelBlueprint = "snapflow.io/blueprint"
	LabelAction    = "snapflow.io/action"
	LabelKind      = "snapflow.io/kind"
	LabelNamespace = "snapflow.io/namespace"
	LabelName      = "snapflow.io/name"
	LabelRun       = "snapflow.io/run"
)

// restorePointVersion is the version of the stored JSON. A reader refuses
// restore points with a newer version rather than misreading them.
const restorePointVersion = 1

// ErrRestorePointNotFound is returned by DeleteRestorePoint for an ID that
// names no restore point (for example one deleted already).
var ErrRestorePointNotFound = errors.New("restore point not found")

// RestorePoint records one export: what ran, on what, and where its data
// is. It is stored as JSON in a kopia manifest, so another cluster reading
// the same repository can list it.
type RestorePoint struct {
	// ID is the kopia manifest ID; set by PutRestorePoint and
	// ListRestorePoints, ignored by PutRestorePoint.
	ID string `json:"-"`
	// Time of the export; PutRestorePoint sets the repository's time when
	// zero. Stored in UTC.
	Time      time.Time                `json:"time"`
	Blueprint string                   `json:"blueprint"`
	Action    string                   `json:"action"`
	Object    v1alpha1.ObjectReference `json:"object"`
	// Source is who exported, as the export function's source argument
	// (the cluster, say): two clusters sharing a Location keep their own.
	Source string `json:"exportSource,omitempty"` // not "source": a kopia snapshot manifest has one
	// Artifacts are the export's outputs. They round-trip through JSON:
	// numbers come back as float64, structs as map[string]any.
	Artifacts map[string]any `json:"artifacts,omitempty"`
	// Snapshots maps each exported PVC to its kopia snapshot ID.
	Snapshots map[string]string `json:"snapshots,omitempty"`
	// Run is the UID of the ActionSet that exported: a run stores one
	// restore point, however often its export phase runs.
	Run string `json:"run,omitempty"`
}

// storedRestorePoint is the manifest payload.
type storedRestorePoint struct {
	Version int `json:"version"`
	RestorePoint
}

// PutRestorePoint stores rp and returns its ID. Storing a restore point
// equal to a stored one (every field but ID) returns the stored one's ID
// and writes nothing, so a retried export step adopts what it wrote. One
// that differs from a stored one of the same Run replaces it, in the same
// write session: a run repeated after a crash keeps one restore point.
func PutRestorePoint(ctx context.Context, rep repo.Repository, rp RestorePoint) (string, error) {
	if rp.Time.IsZero() {
		rp.Time = rep.Time()
	}

	rp.Time = rp.Time.UTC()
	payload := storedRestorePoint{Version: restorePointVersion, RestorePoint: rp}
	labels := restorePointLabels(rp)

	id, err := findEqualRestorePoint(ctx, rep, labels, payload)
	if err != nil || id != "" {
		return id, err
	}

	earlier, err := sameRun(ctx, rep, rp.Run)
	if err != nil {
		return "", err
	}

	err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "snapflow put restore point"},
		func(ctx context.Context, w repo.RepositoryWriter) error {
			for _, old := range earlier {
				if err := w.DeleteManifest(ctx, old); err != nil {
					return fmt.Errorf("replace restore point %s of the same run: %w", old, err)
				}
			}

			mid, err := w.PutManifest(ctx, labels, payload)
			id = string(mid)

			return err
		})
	if err != nil {
		return "", fmt.Errorf("put restore point for %s %s: %w", rp.Action, rp.Object.Name, err)
	}

	return id, nil
}

func restorePointLabels(rp RestorePoint) map[string]string {
	labels := map[string]string{
		manifest.TypeLabelKey: RestorePointType,
		LabelBlueprint:        rp.Blueprint,
		LabelAction:           rp.Action,
		LabelKind:             rp.Object.Kind,
		LabelNamespace:        rp.Object.Namespace,
		LabelName:             rp.Object.Name,
	}
	if rp.Run != "" {
		labels[LabelRun] = rp.Run
	}

	return labels
}

// sameRun returns the IDs of the stored restore points of run; none when
// run is empty.
func sameRun(ctx context.Context, rep repo.Repository, run string) ([]manifest.ID, error) {
	if run == "" {
		return nil, nil
	}

	mds, err := rep.FindManifests(ctx, map[string]string{manifest.TypeLabelKey: RestorePointType, LabelRun: run})
	if err != nil {
		return nil, fmt.Errorf("find restore points of run %s: %w", run, err)
	}

	ids := make([]manifest.ID, 0, len(mds))
	for _, md := range mds {
		ids = append(ids, md.ID)
	}

	return ids, nil
}

// findEqualRestorePoint returns the ID of a stored restore point with the
// same labels and payload, or "".
func findEqualRestorePoint(ctx context.Context, rep repo.Repository, labels map[string]string, want storedRestorePoint) (string, error) {
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return "", fmt.Errorf("encode restore point: %w", err)
	}

	mds, err := rep.FindManifests(ctx, labels)
	if err != nil {
		return "", fmt.Errorf("find restore points: %w", err)
	}

	for _, md := range mds {
		var got storedRestorePoint
		if _, err := rep.GetManifest(ctx, md.ID, &got); err != nil {
			return "", fmt.Errorf("read restore point %s: %w", md.ID, err)
		}

		gotJSON, err := json.Marshal(got)
		if err == nil && bytes.Equal(gotJSON, wantJSON) {
			return string(md.ID), nil
		}
	}

	return "", nil
}

// ListRestorePoints returns every restore point in the repository, newest
// first.
func ListRestorePoints(ctx context.Context, rep repo.Repository) ([]RestorePoint, error) {
	mds, err := rep.FindManifests(ctx, map[string]string{manifest.TypeLabelKey: RestorePointType})
	if err != nil {
		return nil, fmt.Errorf("list restore points: %w", err)
	}

	out := make([]RestorePoint, 0, len(mds))

	for _, md := range mds {
		rp, err := getRestorePoint(ctx, rep, md.ID)
		if err != nil {
			return nil, fmt.Errorf("list restore points: %w", err)
		}

		out = append(out, rp)
	}

	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}

		return out[i].ID < out[j].ID
	})

	return out, nil
}

// GetRestorePoint reads restore point id; an unknown id is
// ErrRestorePointNotFound.
func GetRestorePoint(ctx context.Context, rep repo.Repository, id string) (RestorePoint, error) {
	return getRestorePoint(ctx, rep, manifest.ID(id))
}

// getRestorePoint reads one restore point manifest.
func getRestorePoint(ctx context.Context, rep repo.Repository, id manifest.ID) (RestorePoint, error) {
	var s storedRestorePoint

	md, err := rep.GetManifest(ctx, id, &s)
	if errors.Is(err, manifest.ErrNotFound) {
		return RestorePoint{}, fmt.Errorf("%w: %s", ErrRestorePointNotFound, id)
	}

	if err != nil {
		return RestorePoint{}, fmt.Errorf("read restore point %s: %w", id, err)
	}

	if md.Labels[manifest.TypeLabelKey] != RestorePointType {
		return RestorePoint{}, fmt.Errorf("%w: manifest %s is a %q, not a restore point", ErrRestorePointNotFound, id, md.Labels[manifest.TypeLabelKey])
	}

	if s.Version > restorePointVersion {
		return RestorePoint{}, fmt.Errorf("restore point %s has format version %d; this snapflow reads up to %d", id, s.Version, restorePointVersion)
	}

	s.ID = string(id)

	return s.RestorePoint, nil
}

// DeleteRestorePoint deletes restore point id and the kopia snapshots it
// lists that no other restore point lists, in one write session. The data
// itself is freed by kopia's maintenance (garbage collection), not here.
// An unknown id is ErrRestorePointNotFound.
func DeleteRestorePoint(ctx context.Context, rep repo.Repository, id string) error {
	rp, err := getRestorePoint(ctx, rep, manifest.ID(id))
	if err != nil {
		return fmt.Errorf("delete restore point: %w", err)
	}

	orphans, err := unsharedSnapshots(ctx, rep, rp)
	if err != nil {
		return fmt.Errorf("delete restore point %s: %w", id, err)
	}

	err = repo.WriteSession(ctx, rep, repo.WriteSessionOptions{Purpose: "snapflow delete restore point"},
		func(ctx context.Context, w repo.RepositoryWriter) error {
			for _, sid := range orphans {
				if err := w.DeleteManifest(ctx, sid); err != nil {
					return fmt.Errorf("delete snapshot %s: %w", sid, err)
				}
			}

			return w.DeleteManifest(ctx, manifest.ID(id))
		})
	if err != nil {
		return fmt.Errorf("delete restore point %s: %w", id, err)
	}

	return nil
}

// unsharedSnapshots returns the existing snapshots of rp that no other
// restore point lists.
func unsharedSnapshots(ctx context.Context, rep repo.Repository, rp RestorePoint) ([]manifest.ID, error) {
	all, err := ListRestorePoints(ctx, rep)
	if err != nil {
		return nil, err
	}

	shared := map[string]bool{}

	for _, other := range all {
		if other.ID == rp.ID {
			continue
		}

		for _, sid := range other.Snapshots {
			shared[sid] = true
		}
	}

	var out []manifest.ID

	for _, sid := range rp.Snapshots {
		if shared[sid] {
			continue
		}

		_, err := snapshot.LoadSnapshot(ctx, rep, manifest.ID(sid))
		if errors.Is(err, snapshot.ErrSnapshotNotFound) {
			continue
		}

		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sid, err)
		}

		out = append(out, manifest.ID(sid))
		shared[sid] = true // listed under two PVCs: delete once
	}

	return out, nil
}
