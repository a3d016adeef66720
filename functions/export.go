package functions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/cel-go/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/functions/mover"
)

// Export writes an incremental, deduplicated, encrypted kopia snapshot of
// each clone to a Location: the offsite copy of the 3-2-1 rule. A mover
// pod per clone mounts it read-only at /data, next to the volume, and
// reports progress as it uploads. A last mover pod stores the restore
// point on the Location, so a cluster that lost everything can find it.
func Export() function.Function {
	return function.Typed[ExportArgs, ExportOutputs]{Sig: exportSignature, Run: runExport, Rel: releaseMoverObject}
}

var exportObject = objectOf[ExportRecord]("Export", "one volume's kopia snapshot on a Location")

var exportSignature = function.Signature{
	Name: "export",
	Doc:  "Writes an incremental, deduplicated, encrypted kopia snapshot of each clone to a Location, through a mover pod per clone.",
	Args: []function.Arg{
		{Name: "pvcs", Type: cel.ListType(cloneObject.Type()), Required: true,
			Doc: "the read-only clones to export, e.g. ${{ phases.clone.pvcs }}"},
		{Name: "location", Type: cel.StringType, Required: true,
			Doc: "name of the Location, in the ActionSet's namespace, e.g. ${{ location.name }}"},
		{Name: "source", Type: cel.StringType, Default: "snapflow",
			Doc: "who exports, e.g. the cluster's name: each claim's snapshots are incremental against the previous ones of the same source, namespace and claim"},
		{Name: "timeout", Type: cel.DurationType, Default: "6h", Doc: "how long one volume's export may take"},
		{Name: "artifacts", Type: cel.MapType(cel.StringType, cel.DynType), Default: map[string]any{},
			Doc: "the rest of the restore point, stored on the Location with the exports (under \"exports\"), e.g. {'snapshots': phases.snap.snapshots, 'resources': phases.objects.bundle}; a backupResources bundle under \"resources\" is deleted with the restore point"},
	},
	Outputs: []function.Output{
		{Name: "exports", Type: cel.ListType(exportObject.Type()), Doc: "one export per clone, in order"},
		{Name: "restorePoint", Type: cel.StringType, Doc: "ID of the restore point on the Location, for kubectl snapflow restore --restore-point"},
	},
	Objects: []celenv.Object{exportObject},
}

// ExportArgs are export's arguments.
type ExportArgs struct {
	PVCs      []Clone         `json:"pvcs"`
	Location  string          `json:"location"`
	Source    string          `json:"source"`
	Timeout   metav1.Duration `json:"timeout"`
	Artifacts map[string]any  `json:"artifacts"`
}

// ExportOutputs are export's outputs.
type ExportOutputs struct {
	Exports      []ExportRecord `json:"exports"`
	RestorePoint string         `json:"restorePoint"`
}

// ExportRecord is one exported volume, the CEL type snapflow.Export.
type ExportRecord struct {
	PVC        string `json:"pvc" doc:"the claim the clone was made of"`
	Namespace  string `json:"namespace" doc:"namespace of the claim"`
	Location   string `json:"location" doc:"the Location written to"`
	Source     string `json:"source" doc:"kopia source as host:user/path"`
	SnapshotID string `json:"snapshotID" doc:"the kopia snapshot"`
	BytesTotal int64  `json:"bytesTotal" doc:"bytes in the volume"`
	BytesNew   int64  `json:"bytesNew" doc:"bytes uploaded: what the previous export did not have"`
	Files      int64  `json:"files" doc:"files in the volume"`
	Duration   string `json:"duration" doc:"how long the export took"`
}

func runExport(ctx context.Context, rt *function.Runtime, in ExportArgs) (ExportOutputs, error) {
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return ExportOutputs{}, err
	}
	if _, ok := in.Artifacts["exports"]; ok {
		return ExportOutputs{}, function.Permanent(errors.New(`artifacts must not hold "exports": export adds its own`))
	}
	loc, err := locationOf(rt, in.Location)
	if err != nil {
		return ExportOutputs{}, err
	}
	creds := newMoverCredentials(loc)
	out := ExportOutputs{Exports: []ExportRecord{}}
	for i, pvc := range in.PVCs {
		rec, err := exportOne(ctx, rt, creds, in, pvc, i)
		if err != nil {
			return ExportOutputs{}, fmt.Errorf("export claim %s/%s to Location %s/%s: %w", pvc.Namespace, pvc.SourcePVC, loc.Namespace, loc.Name, err)
		}
		out.Exports = append(out.Exports, rec)
		rt.Message(fmt.Sprintf("exported %d of %d: %s (%d of %d bytes new)", i+1, len(in.PVCs), pvc.SourcePVC, rec.BytesNew, rec.BytesTotal))
	}
	if out.RestorePoint, err = recordRestorePoint(ctx, rt, creds, in, out.Exports); err != nil {
		return ExportOutputs{}, err
	}
	rt.Message(fmt.Sprintf("exported %d volumes; restore point %s on Location %s", len(out.Exports), out.RestorePoint, in.Location))
	return out, nil
}

// exportOne exports clone pvc, volume i of the call, through a mover pod.
func exportOne(ctx context.Context, rt *function.Runtime, creds *moverCredentials, in ExportArgs, pvc Clone, i int) (ExportRecord, error) {
	src := mover.Source{Host: in.Source, User: pvc.Namespace, Path: pvc.SourcePVC}
	job := moverJob{
		mode: mover.ModeExport, namespace: pvc.Namespace, claim: pvc.Name,
		name: rt.Names.Name("export-" + pvc.SourcePVC), timeout: in.Timeout.Duration,
		request: mover.Request{Location: creds.loc.Spec, Source: src},
		progress: func(done, total int64) {
			rt.Progress.Report(progressOf(i, len(in.PVCs), done, total))
		},
	}
	line, err := runMover(ctx, rt, creds, job)
	if err != nil {
		return ExportRecord{}, err
	}
	res := line.Result
	return ExportRecord{
		PVC: pvc.SourcePVC, Namespace: pvc.Namespace, Location: in.Location,
		Source:     fmt.Sprintf("%s@%s:%s", src.User, src.Host, src.Path),
		SnapshotID: res.SnapshotID, BytesTotal: res.BytesTotal, BytesNew: res.BytesNew,
		Files: res.Files, Duration: res.Duration.Round(time.Millisecond).String(),
	}, nil
}

// recordRestorePoint stores the restore point on the Location through a
// mover pod in the ActionSet's namespace, and returns its ID.
func recordRestorePoint(ctx context.Context, rt *function.Runtime, creds *moverCredentials, in ExportArgs, exports []ExportRecord) (string, error) {
	rp := repository.RestorePoint{
		Time: rt.Clock.Now().UTC(), Blueprint: rt.Action.Blueprint, Action: rt.Action.Name, Object: rt.Target,
		Source: in.Source, Artifacts: maps.Clone(in.Artifacts), Snapshots: map[string]string{}, Run: rt.Action.UID,
	}
	if rp.Artifacts == nil {
		rp.Artifacts = map[string]any{}
	}
	rp.Artifacts["exports"] = exports
	for _, e := range exports {
		rp.Snapshots[e.Namespace+"/"+e.PVC] = e.SnapshotID
	}
	maps.Copy(rp.Snapshots, bundleSnapshots(in.Artifacts)) // deleted with the restore point
	job := moverJob{
		mode: mover.ModeRecord, namespace: rt.Action.Namespace,
		name: rt.Names.Name("record"), timeout: manifestMoverTimeout,
		request: mover.Request{Location: creds.loc.Spec, RestorePoint: &rp},
	}
	line, err := runMover(ctx, rt, creds, job)
	if err != nil {
		return "", fmt.Errorf("store the restore point on Location %s: %w", in.Location, err)
	}
	failpoint.Hit(failpoint.RestorePointRecorded)
	return line.RestorePoint, nil
}

// errMoverFailed marks a mover that ran and reported an error.
var errMoverFailed = errors.New("mover failed")

// releaseMoverObject deletes a mover pod or credentials Secret left by an
// interrupted export or restore; the key is kind/namespace/name.
func releaseMoverObject(ctx context.Context, rt *function.Runtime, key string) error {
	kind, ns, name, err := splitMoverKey(key)
	if err != nil {
		return function.Permanent(err)
	}
	switch kind {
	case "pod":
		err = rt.Clients.Kube.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	case "secret":
		err = rt.Clients.Kube.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
