package functions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/function"
)

// Restore creates claims again from a restore point's snapshots, by default
// with the same names in the snapshots' namespace. It never overwrites a
// claim it did not create. Where the original VolumeSnapshot is gone, or
// the target is another namespace, it restores from the retained storage
// handle through a temporary pre-provisioned snapshot.
func Restore() function.Function {
	return function.Typed[RestoreArgs, RestoreOutputs]{Sig: restoreSignature, Run: runRestore, Rel: releaseRestore}
}

var restoredObject = objectOf[RestoredPVC]("RestoredPVC", "a claim created from a restore point")

// The sources restore reads from.
const (
	restoreFromSnapshot = "snapshot"
	restoreFromExport   = "export"
	restoreFromDRCopy   = "drCopy"
)

var restoreSignature = function.Signature{
	Name: "restore",
	Doc:  "Creates claims again from a restore point's snapshots, in their own or another namespace, never overwriting a claim it did not create.",
	Args: []function.Arg{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Required: true,
			Doc: "the restore point's snapshots, e.g. ${{ artifacts.snapshots }}"},
		{Name: "namespace", Type: cel.StringType, Default: "",
			Doc: "namespace to create the claims in, created if missing; empty means each snapshot's own"},
		{Name: "names", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{},
			Doc: "new claim name by source claim name; a claim missing here keeps its name"},
		{Name: "storageClasses", Type: cel.MapType(cel.StringType, cel.StringType), Default: map[string]any{},
			Doc: "new StorageClass by the snapshotted claim's; restoring from a snapshot, the new class must use the snapshot's CSI driver"},
		{Name: "timeout", Type: cel.DurationType, Default: "10m",
			Doc: "how long the claims may take to bind; not waited for with a WaitForFirstConsumer class"},
		{Name: "from", Type: cel.StringType, Default: restoreFromSnapshot,
			Doc: `where the data comes from: "snapshot" (fast, local), "export" (a Location, after losing the snapshots too) or "drCopy" (crossRegionCopy's copies, in the DR region's cluster)`},
		{Name: "exports", Type: cel.ListType(exportObject.Type()), Default: []any{},
			Doc: "from export: the restore point's exports, e.g. ${{ artifacts.exports }}; snapshots still give each claim's class, size and modes"},
		{Name: "location", Type: cel.StringType, Default: "", Doc: "from export: the Location to read, e.g. ${{ location.name }}"},
		{Name: "drCopies", Type: cel.ListType(drCopyObject.Type()), Default: []any{},
			Doc: "from drCopy: the restore point's DR copies, e.g. ${{ artifacts.drCopies }}; each claim is made from its snapshot's copy"},
		{Name: "dataTimeout", Type: cel.DurationType, Default: "6h",
			Doc: "from export: how long restoring one claim's data may take, once it is bound (timeout bounds only the binding)"},
		{Name: "verifyPercent", Type: cel.DoubleType, Default: 10.0,
			Doc: "from export: percent of the restored files whose content is read back from the repository and compared; every directory always is"},
	},
	Outputs: []function.Output{
		{Name: "pvcs", Type: cel.ListType(restoredObject.Type()), Doc: "the claims, one per snapshot, in order"},
	},
	Objects: []celenv.Object{restoredObject},
}

// RestoreArgs are restore's arguments.
type RestoreArgs struct {
	Snapshots      []SnapshotRecord  `json:"snapshots"`
	Namespace      string            `json:"namespace"`
	Names          map[string]string `json:"names"`
	StorageClasses map[string]string `json:"storageClasses"`
	Timeout        metav1.Duration   `json:"timeout"`
	From           string            `json:"from"`
	Exports        []ExportRecord    `json:"exports"`
	Location       string            `json:"location"`
	DRCopies       []DRCopy          `json:"drCopies"`
	DataTimeout    metav1.Duration   `json:"dataTimeout"`
	VerifyPercent  float64           `json:"verifyPercent"`
}

// RestoreOutputs are restore's outputs.
type RestoreOutputs struct {
	PVCs []RestoredPVC `json:"pvcs"`
}

// RestoredPVC is a claim restore created, the CEL type snapflow.RestoredPVC.
type RestoredPVC struct {
	Name           string `json:"name" doc:"claim name"`
	Namespace      string `json:"namespace" doc:"claim namespace"`
	SourcePVC      string `json:"sourcePVC" doc:"the claim the snapshot was taken of"`
	VolumeSnapshot string `json:"volumeSnapshot" doc:"the restore point's VolumeSnapshot the data came from"`
}

// annotationRestoredFrom on a restored claim names its source snapshot.
const annotationRestoredFrom = "snapflow.dev/restored-from"

func runRestore(ctx context.Context, rt *function.Runtime, in RestoreArgs) (RestoreOutputs, error) {
	source, err := restoreSource(ctx, rt, in)
	if err != nil {
		return RestoreOutputs{}, err
	}
	if in.Timeout.Duration <= 0 {
		return RestoreOutputs{}, function.Permanent(fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	targets, err := restoreTargets(in)
	if err != nil {
		return RestoreOutputs{}, err
	}
	r := &restoreRun{rt: rt, source: source}
	return r.run(ctx, targets, in)
}

// restoreSource checks the clients and args the from arg needs and
// returns its claimSource.
func restoreSource(ctx context.Context, rt *function.Runtime, in RestoreArgs) (claimSource, error) {
	switch in.From {
	case restoreFromSnapshot:
		if err := rt.Clients.Check(function.UsesKube | function.UsesSnapshots); err != nil {
			return nil, err
		}
		return snapshotSource{rt: rt}, nil
	case restoreFromExport:
		if err := rt.Clients.Check(function.UsesKube); err != nil {
			return nil, err
		}
		if in.Location == "" || len(in.Exports) == 0 {
			return nil, function.Permanent(errors.New(`from "export" needs location and exports`))
		}
		loc, err := locationOf(rt, in.Location)
		if err != nil {
			return nil, err
		}
		return exportSource{rt: rt, loc: loc, creds: newMoverCredentials(loc), exports: exportsBySource(in.Exports), verify: in.VerifyPercent, timeout: in.DataTimeout.Duration}, nil
	case restoreFromDRCopy:
		if err := rt.Clients.Check(function.UsesKube | function.UsesSnapshots); err != nil {
			return nil, err
		}
		if len(in.DRCopies) == 0 {
			return nil, function.Permanent(errors.New(`from "drCopy" needs drCopies, e.g. ${{ artifacts.drCopies }}`))
		}
		return snapshotSource{rt: rt, staged: true}, nil
	}
	return nil, function.Permanent(fmt.Errorf("from %q is not one of %q, %q, %q", in.From, restoreFromSnapshot, restoreFromExport, restoreFromDRCopy))
}

// restoreTarget is one claim to create and the snapshot to fill it from.
type restoreTarget struct {
	RestoredPVC
	rec SnapshotRecord
	// wffc: the class binds the claim only for a pod, so neither waiting
	// for it nor removing its staged data can happen in this call.
	wffc bool
}

func (t restoreTarget) String() string { return t.Namespace + "/" + t.Name }

// restoreTargets maps each snapshot to the claim to create, rejecting two
// snapshots for one claim.
func restoreTargets(in RestoreArgs) ([]restoreTarget, error) {
	var out []restoreTarget
	seen := map[string]string{}
	var errs []error
	for _, s := range in.Snapshots {
		t := restoreTarget{rec: s, RestoredPVC: RestoredPVC{
			Name: s.PVC, Namespace: in.Namespace, SourcePVC: s.PVC, VolumeSnapshot: s.VolumeSnapshot,
		}}
		if n, ok := in.Names[s.PVC]; ok {
			t.Name = n
		}
		if c, ok := in.StorageClasses[s.StorageClass]; ok {
			t.rec.StorageClass = c
		}
		if in.From == restoreFromDRCopy {
			if err := fromDRCopy(&t.rec, in.DRCopies); err != nil {
				errs = append(errs, err)
			}
		}
		if t.Namespace == "" {
			t.Namespace = s.Namespace
		}
		source := s.Namespace + "/" + s.PVC
		if other, dup := seen[t.String()]; dup {
			errs = append(errs, fmt.Errorf("snapshots of %s and %s would both restore to claim %s; map one to another name with names", other, source, t))
		}
		seen[t.String()] = source
		out = append(out, t)
	}
	return out, function.Permanent(errors.Join(errs...))
}

// fromDRCopy points rec at its DR copy: the handle the DR cluster's
// driver restores.
func fromDRCopy(rec *SnapshotRecord, copies []DRCopy) error {
	for _, c := range copies {
		if c.Namespace == rec.Namespace && c.PVC == rec.PVC && (c.VolumeSnapshot == "" || c.VolumeSnapshot == rec.VolumeSnapshot) {
			rec.SnapshotHandle, rec.Driver = c.SnapshotID, c.Driver
			return nil
		}
	}
	return fmt.Errorf("the snapshot of claim %s/%s has no DR copy in drCopies", rec.Namespace, rec.PVC)
}

// claimSource gives the dataSource of a restored claim. Each value of the
// from arg has one; data it stages must be removable once the claim binds.
type claimSource interface {
	// dataSource prepares t's data and returns the claim's dataSource.
	dataSource(ctx context.Context, t restoreTarget) (*corev1.TypedLocalObjectReference, error)
	// bound removes what dataSource staged for t, now that t is bound, or
	// fills t.
	bound(ctx context.Context, t restoreTarget) error
	// consumes reports whether bound uses the claim in a pod: then that pod
	// is a WaitForFirstConsumer claim's first consumer and binds it, and
	// bound must run without waiting for Bound first.
	consumes() bool
}

// restoreRun is one call's claims.
type restoreRun struct {
	rt     *function.Runtime
	source claimSource
}

func (r *restoreRun) run(ctx context.Context, targets []restoreTarget, in RestoreArgs) (RestoreOutputs, error) {
	existing, err := r.existing(ctx, targets)
	if err != nil {
		return RestoreOutputs{}, err
	}
	if err := r.namespaces(ctx, targets); err != nil {
		return RestoreOutputs{}, err
	}
	out := RestoreOutputs{PVCs: []RestoredPVC{}}
	for i := range targets {
		t := &targets[i]
		if t.wffc, err = waitsForFirstConsumer(ctx, r.rt.Clients.Kube, t.rec.StorageClass); err != nil {
			return RestoreOutputs{}, err
		}
		if !existing[t.String()] {
			if err := r.create(ctx, *t); err != nil {
				return RestoreOutputs{}, err
			}
		}
		out.PVCs = append(out.PVCs, t.RestoredPVC)
	}
	var unbound []string
	wctx, cancel := context.WithTimeout(ctx, in.Timeout.Duration) // for all claims together
	defer cancel()
	for _, t := range targets {
		switch {
		case t.wffc && !r.source.consumes():
			unbound = append(unbound, t.String())
			continue
		case !t.wffc:
			if err := waitBound(wctx, r.rt.Clients.Kube, t.Namespace, []string{t.Name}, in.Timeout.Duration); err != nil {
				return RestoreOutputs{}, err
			}
		}
		if err := r.source.bound(ctx, t); err != nil {
			return RestoreOutputs{}, err
		}
	}
	if len(unbound) > 0 {
		r.rt.Message("claims " + strings.Join(unbound, ", ") + " bind when a pod first uses them; anything staged for them stays until then")
	}
	return out, nil
}

// existing finds the target claims that exist already: this phase's are
// adopted; anyone else's stop the restore before anything is created.
func (r *restoreRun) existing(ctx context.Context, targets []restoreTarget) (map[string]bool, error) {
	found := map[string]bool{}
	var errs []error
	for _, t := range targets {
		pvc, err := r.rt.Clients.Kube.CoreV1().PersistentVolumeClaims(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("get claim %s: %w", t, err))
		case !createdBy(r.rt, pvc):
			errs = append(errs, function.Permanent(fmt.Errorf("claim %s already exists and this restore did not create it; "+
				"delete it, restore to another namespace, or map %s to another name with names", t, t.SourcePVC)))
		default:
			found[t.String()] = true
		}
	}
	return found, errors.Join(errs...)
}

// namespaces creates the target namespaces that do not exist, where the
// run's account may.
func (r *restoreRun) namespaces(ctx context.Context, targets []restoreTarget) error {
	done := map[string]bool{}
	for _, t := range targets {
		if done[t.Namespace] {
			continue
		}
		done[t.Namespace] = true
		api := r.rt.Clients.Kube.CoreV1().Namespaces()
		_, err := api.Get(ctx, t.Namespace, metav1.GetOptions{})
		if apierrors.IsForbidden(err) {
			// A run acting as a namespace-scoped account may not read
			// namespaces; it restores into one that exists, and creating the
			// claims says so if it does not.
			continue
		}
		if apierrors.IsNotFound(err) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Namespace, Labels: map[string]string{labelManagedBy: managedBy}}}
			if _, err = api.Create(ctx, ns, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("ensure namespace %s: %w", t.Namespace, err)
		}
	}
	return nil
}

// create creates claim t from its source.
func (r *restoreRun) create(ctx context.Context, t restoreTarget) error {
	size := largerQuantity(t.rec.Size, t.rec.RestoreSize)
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return function.Permanent(fmt.Errorf("snapshot of claim %s: neither size %q nor restoreSize %q is a quantity", t.SourcePVC, t.rec.Size, t.rec.RestoreSize))
	}
	src, err := r.source.dataSource(ctx, t)
	if err != nil {
		return err
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: ownedMeta(r.rt, restoreSignature.Name, t.Namespace, t.Name),
		Spec: corev1.PersistentVolumeClaimSpec{
			DataSource: src,
			Resources:  corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
		},
	}
	pvc.Annotations = map[string]string{annotationRestoredFrom: t.rec.Namespace + "/" + t.rec.VolumeSnapshot}
	for _, m := range t.rec.AccessModes {
		pvc.Spec.AccessModes = append(pvc.Spec.AccessModes, corev1.PersistentVolumeAccessMode(m))
	}
	if len(pvc.Spec.AccessModes) == 0 {
		pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	if t.rec.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr.To(t.rec.StorageClass)
	}
	if t.rec.VolumeMode != "" {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeMode(t.rec.VolumeMode))
	}
	claims := r.rt.Clients.Kube.CoreV1().PersistentVolumeClaims(t.Namespace)
	_, err = claims.Create(ctx, pvc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) { // since existing looked
		var have *corev1.PersistentVolumeClaim
		if have, err = claims.Get(ctx, t.Name, metav1.GetOptions{}); err == nil && !createdBy(r.rt, have) {
			err = function.Permanent(errors.New("it appeared meanwhile, and this restore did not create it"))
		}
	}
	if err != nil {
		return fmt.Errorf("create claim %s: %w", t, err)
	}
	return nil
}

// releaseRestore releases what a snapshot source staged or a mover left.
func releaseRestore(ctx context.Context, rt *function.Runtime, key string) error {
	if strings.HasPrefix(key, "snapshot/") {
		return releaseRestoreSource(ctx, rt, key)
	}
	return releaseMoverObject(ctx, rt, key)
}
