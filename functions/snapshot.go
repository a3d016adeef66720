package functions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/cel-go/cel"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Snapshot takes CSI VolumeSnapshots of claims, all at once so they are
// close in time, and releases the application's quiesce holds as soon as
// every snapshot is cut, before waiting for them to be ready to use. By
// default the snapshots use a Retain copy of their class, so deleting the
// application's namespace keeps them.
func Snapshot() function.Function {
	return function.Typed[SnapshotArgs, SnapshotOutputs]{Sig: snapshotSignature, Run: runSnapshot}
}

// snapshotObject is snapflow.Snapshot. It is declared here only;
// cloneReadOnly, restore and deleteSnapshots take lists of it by type, which
// the CEL environment resolves from every registered function's objects.
var snapshotObject = objectOf[SnapshotRecord]("Snapshot",
	"a CSI snapshot of one claim, with what restoring the claim needs when the original is gone")

var snapshotSignature = function.Signature{
	Name: "snapshot",
	Doc:  "Takes CSI VolumeSnapshots of claims, all at once, and releases quiesce holds as soon as every snapshot is cut.",
	Args: []function.Arg{
		{Name: "namespace", Type: cel.StringType, Required: true, Doc: "namespace of the claims"},
		{Name: "pvcs", Type: cel.ListType(cel.StringType), Required: true,
			Doc: "names of the claims, e.g. ${{ workload.pvcs.map(p, p.name) }}"},
		{Name: "volumeSnapshotClass", Type: cel.StringType, Default: "",
			Doc: `the class (a VolumeGroupSnapshotClass when group is true); empty picks the one the claim's StorageClass names in its annotation ` +
				annotationSnapshotClass + ` (` + annotationGroupSnapshotClass + ` for groups), else the driver's one class annotated ` +
				annotationIsSnapshotClass + `: "true"`},
		{Name: "group", Type: cel.BoolType, Default: false,
			Doc: "take one VolumeGroupSnapshot over all the claims; they must share a driver that supports group snapshots"},
		{Name: "durable", Type: cel.BoolType, Default: true,
			Doc: "snapshot with a copy of the class whose deletionPolicy is Retain, so deleting the namespace keeps the snapshots"},
		{Name: "timeout", Type: cel.DurationType, Default: "10m", Doc: "how long the snapshots may take to be cut and ready"},
	},
	Outputs: []function.Output{
		{Name: "snapshots", Type: cel.ListType(snapshotObject.Type()), Doc: "one per claim, in the order of pvcs"},
		{Name: "quiesceHold", Type: cel.DurationType,
			Doc: "how long the longest quiesce hold lasted until the snapshots were cut; 0s if nothing was held"},
	},
	Objects: []celenv.Object{snapshotObject},
}

// SnapshotArgs are snapshot's arguments.
type SnapshotArgs struct {
	Namespace           string          `json:"namespace"`
	PVCs                []string        `json:"pvcs"`
	VolumeSnapshotClass string          `json:"volumeSnapshotClass"`
	Group               bool            `json:"group"`
	Durable             bool            `json:"durable"`
	Timeout             metav1.Duration `json:"timeout"`
}

// SnapshotOutputs are snapshot's outputs.
type SnapshotOutputs struct {
	Snapshots   []SnapshotRecord `json:"snapshots"`
	QuiesceHold string           `json:"quiesceHold"`
}

// SnapshotRecord is one snapshot of a restore point, the CEL type
// snapflow.Snapshot. Besides the objects it names the storage handle and
// the claim's shape, so a restore works when the namespace is gone.
type SnapshotRecord struct {
	PVC                 string   `json:"pvc" doc:"name of the claim snapshotted"`
	Namespace           string   `json:"namespace" doc:"namespace of the claim and its VolumeSnapshot"`
	VolumeSnapshot      string   `json:"volumeSnapshot" doc:"VolumeSnapshot name"`
	Content             string   `json:"content" doc:"VolumeSnapshotContent name"`
	SnapshotHandle      string   `json:"snapshotHandle" doc:"the storage system's ID of the snapshot"`
	Driver              string   `json:"driver" doc:"CSI driver"`
	RestoreSize         string   `json:"restoreSize" doc:"smallest size of a volume restored from it, as a quantity; empty if the driver does not say"`
	CreationTime        string   `json:"creationTime" doc:"when the snapshot was cut, RFC 3339"`
	VolumeSnapshotClass string   `json:"volumeSnapshotClass" doc:"class the snapshot was taken with, if any"`
	Group               string   `json:"group" doc:"VolumeGroupSnapshot it belongs to; empty if taken alone"`
	StorageClass        string   `json:"storageClass" doc:"the claim's StorageClass"`
	AccessModes         []string `json:"accessModes" doc:"the claim's access modes"`
	VolumeMode          string   `json:"volumeMode" doc:"the claim's volume mode: Filesystem or Block"`
	Size                string   `json:"size" doc:"the claim's requested size, as a quantity"`
}

func (in SnapshotArgs) validate() error {
	var errs []error
	if in.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if len(in.PVCs) == 0 {
		errs = append(errs, errors.New("pvcs is empty: there is nothing to snapshot"))
	}
	for i, p := range in.PVCs {
		if p == "" || slices.Index(in.PVCs, p) < i {
			errs = append(errs, fmt.Errorf("pvcs[%d]: %q is empty or a duplicate", i, p))
		}
	}
	if in.Timeout.Duration <= 0 {
		errs = append(errs, fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	return function.Permanent(errors.Join(errs...))
}

func runSnapshot(ctx context.Context, rt *function.Runtime, in SnapshotArgs) (SnapshotOutputs, error) {
	if err := rt.Clients.Check(function.UsesKube | function.UsesSnapshots); err != nil {
		return SnapshotOutputs{}, err
	}
	if err := in.validate(); err != nil {
		return SnapshotOutputs{}, err
	}
	claims, err := getClaims(ctx, rt.Clients.Kube, in.Namespace, in.PVCs)
	if err != nil {
		return SnapshotOutputs{}, err
	}
	if in.Group {
		return snapshotGroup(ctx, rt, in, claims)
	}
	classes, err := chooseClasses(ctx, rt, volumeSnapshotClasses(rt.Clients.Snapshots), in.VolumeSnapshotClass, in.Durable, claims)
	if err != nil {
		return SnapshotOutputs{}, err
	}
	s := &snapshotRun{rt: rt, ns: in.Namespace, claims: claims, timeout: in.Timeout.Duration}
	out, err := s.run(ctx, classes)
	if err != nil {
		return SnapshotOutputs{}, s.rollback(ctx, err)
	}
	return out, nil
}

// snapshotRun is one call's VolumeSnapshots, one per claim.
type snapshotRun struct {
	rt      *function.Runtime
	ns      string
	claims  []claim
	timeout time.Duration // to be cut and ready
}

func (s *snapshotRun) name(i int) string { return s.rt.Names.Name(s.claims[i].pvc.Name) }

// run creates the snapshots, waits until all are cut, releases the holds,
// then waits until all are ready.
func (s *snapshotRun) run(ctx context.Context, classes []string) (SnapshotOutputs, error) {
	start := s.rt.Clock.Now()
	if err := s.create(ctx, classes); err != nil {
		return SnapshotOutputs{}, err
	}
	failpoint.Hit(failpoint.SnapshotCreated)
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.await(wctx, "cut", 0, s.cut); err != nil {
		return SnapshotOutputs{}, err
	}
	held, err := s.rt.ReleaseHolds(ctx)
	if err != nil {
		return SnapshotOutputs{}, fmt.Errorf("release quiesce holds after the snapshots were cut: %w", err)
	}
	s.rt.Message(fmt.Sprintf("%d snapshots cut in %s; quiesce held %s; waiting until ready",
		len(s.claims), s.rt.Clock.Since(start).Round(time.Millisecond), held))
	if err := s.await(wctx, "ready", 50, ready); err != nil {
		return SnapshotOutputs{}, err
	}
	var out SnapshotOutputs
	for i, cl := range s.claims {
		rec, err := getRecord(ctx, s.rt, s.ns, s.name(i), cl)
		if err != nil {
			return SnapshotOutputs{}, err
		}
		out.Snapshots = append(out.Snapshots, rec)
	}
	out.QuiesceHold = held.String()
	s.rt.Message(fmt.Sprintf("%d snapshots ready in %s; quiesce held %s",
		len(s.claims), s.rt.Clock.Since(start).Round(time.Millisecond), held))
	return out, nil
}

// create creates every VolumeSnapshot before waiting for any, so they are
// cut close together. A snapshot left by an earlier attempt is adopted.
func (s *snapshotRun) create(ctx context.Context, classes []string) error {
	api := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshots(s.ns)
	for i, cl := range s.claims {
		vs := &snapv1.VolumeSnapshot{
			ObjectMeta: ownedMeta(s.rt, snapshotSignature.Name, s.ns, s.name(i)),
			Spec: snapv1.VolumeSnapshotSpec{
				Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(cl.pvc.Name)},
				VolumeSnapshotClassName: ptr.To(classes[i]),
			},
		}
		_, err := api.Create(ctx, vs, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = s.adopt(ctx, s.name(i), cl)
		}
		if err != nil {
			return fmt.Errorf("create VolumeSnapshot %s/%s of claim %s: %w", s.ns, vs.Name, cl.pvc.Name, err)
		}
	}
	return nil
}

func (s *snapshotRun) adopt(ctx context.Context, name string, cl claim) error {
	vs, err := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshots(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !createdBy(s.rt, vs) || ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "") != cl.pvc.Name {
		return function.Permanent(fmt.Errorf("it exists but was not created by this phase for claim %s", cl.pvc.Name))
	}
	return nil
}

// cut reports whether the storage system has taken the snapshot: the
// point in time is fixed even if uploading or copying goes on. The bound
// content may say so before the snapshot does.
func (s *snapshotRun) cut(ctx context.Context, vs *snapv1.VolumeSnapshot) (bool, error) {
	st := vs.Status
	switch {
	case st == nil:
		return false, nil
	case st.CreationTime != nil:
		return true, nil
	case st.BoundVolumeSnapshotContentName == nil:
		return false, nil
	}
	c, err := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshotContents().Get(ctx, *st.BoundVolumeSnapshotContentName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get VolumeSnapshotContent %s: %w", *st.BoundVolumeSnapshotContentName, err)
	}
	return c.Status != nil && c.Status.SnapshotHandle != nil, nil
}

func ready(_ context.Context, vs *snapv1.VolumeSnapshot) (bool, error) {
	return vs.Status != nil && ptr.Deref(vs.Status.ReadyToUse, false), nil
}

// await watches the snapshots until done holds for all, reporting progress
// from base percent as they get there; on timeout the error quotes each
// snapshot's own error.
func (s *snapshotRun) await(ctx context.Context, what string, base int32, done func(context.Context, *snapv1.VolumeSnapshot) (bool, error)) error {
	names := make([]string, len(s.claims))
	for i := range s.claims {
		names[i] = s.name(i)
	}
	lw := snapshotsListWatch(s.rt.Clients.Snapshots, s.ns, names)
	problems := map[string]string{}
	reported := int32(-1)
	err := untilAllNamed(ctx, lw, &snapv1.VolumeSnapshot{}, names, func(snapshots map[string]*snapv1.VolumeSnapshot) (bool, error) {
		clear(problems)
		for i, cl := range s.claims {
			vs := snapshots[names[i]]
			if vs == nil {
				return false, fmt.Errorf("VolumeSnapshot %s/%s of claim %s does not exist", s.ns, names[i], cl.pvc.Name)
			}
			if ok, err := done(ctx, vs); err != nil || !ok {
				problems[fmt.Sprintf("VolumeSnapshot %s of claim %s", vs.Name, cl.pvc.Name)] = snapshotProblem(vs.Status, what)
				if err != nil {
					return false, err
				}
			}
		}
		n := int32(len(s.claims) - len(problems))
		if p := base + 50*n/int32(len(s.claims)); p != reported {
			s.rt.Progress.Report(v1alpha1.Progress{Percent: p})
			reported = p
		}
		return len(problems) == 0, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("snapshots in %s not %s within %s: %s: %w", s.ns, what, s.timeout, joinProblems(problems), err)
	}
	return err
}

// snapshotProblem is what the snapshot controller or driver reported, or
// that it is still pending.
func snapshotProblem(st *snapv1.VolumeSnapshotStatus, what string) string {
	if st != nil && st.Error != nil && st.Error.Message != nil {
		return *st.Error.Message
	}
	return "not " + what + " yet"
}

// rollback deletes this phase's snapshots after a failure, with their
// Retain contents and storage snapshots, so nothing is left behind; cause
// is returned, with any trouble cleaning up. A call interrupted by the
// controller stopping keeps them.
func (s *snapshotRun) rollback(ctx context.Context, cause error) error {
	if function.Interrupted(ctx) {
		return cause // the resumed phase adopts them
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	api := s.rt.Clients.Snapshots.SnapshotV1().VolumeSnapshots(s.ns)
	var errs []error
	var retired []string
	for i := range s.claims {
		vs, err := api.Get(ctx, s.name(i), metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && !createdBy(s.rt, vs)) {
			continue
		}
		if err == nil {
			_, err = retireSnapshot(ctx, s.rt.Clients.Snapshots, s.ns, vs.Name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		retired = append(retired, vs.Name)
	}
	if len(errs) == 0 && len(retired) > 0 {
		errs = append(errs, awaitRetired(ctx, s.rt.Clients.Snapshots, s.ns, retired))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w (and cleaning up failed: %w)", cause, err)
	}
	return cause
}

// getRecord describes the ready VolumeSnapshot ns/name of cl.
func getRecord(ctx context.Context, rt *function.Runtime, ns, name string, cl claim) (SnapshotRecord, error) {
	cs := rt.Clients.Snapshots.SnapshotV1()
	vs, err := cs.VolumeSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return SnapshotRecord{}, fmt.Errorf("get VolumeSnapshot %s/%s: %w", ns, name, err)
	}
	if vs.Status == nil || vs.Status.BoundVolumeSnapshotContentName == nil {
		return SnapshotRecord{}, fmt.Errorf("VolumeSnapshot %s/%s is bound to no content", ns, name)
	}
	content := *vs.Status.BoundVolumeSnapshotContentName
	c, err := cs.VolumeSnapshotContents().Get(ctx, content, metav1.GetOptions{})
	if err != nil {
		return SnapshotRecord{}, fmt.Errorf("get VolumeSnapshotContent %q of VolumeSnapshot %s/%s: %w", content, ns, name, err)
	}
	return newRecord(cl, vs, c), nil
}

// newRecord describes a ready snapshot of cl.
func newRecord(cl claim, vs *snapv1.VolumeSnapshot, c *snapv1.VolumeSnapshotContent) SnapshotRecord {
	r := SnapshotRecord{
		PVC: cl.pvc.Name, Namespace: vs.Namespace, VolumeSnapshot: vs.Name, Content: c.Name,
		SnapshotHandle: contentHandle(c), Driver: c.Spec.Driver,
		VolumeSnapshotClass: ptr.Deref(vs.Spec.VolumeSnapshotClassName, ""),
		Group:               ptr.Deref(vs.Status.VolumeGroupSnapshotName, ""),
		StorageClass:        cl.storageClass(),
		VolumeMode:          string(ptr.Deref(cl.pvc.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)),
		AccessModes:         []string{},
	}
	if r.VolumeSnapshotClass == "" {
		r.VolumeSnapshotClass = ptr.Deref(c.Spec.VolumeSnapshotClassName, "")
	}
	for _, m := range cl.pvc.Spec.AccessModes {
		r.AccessModes = append(r.AccessModes, string(m))
	}
	if q, ok := cl.pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		r.Size = q.String()
	}
	switch {
	case vs.Status.RestoreSize != nil:
		r.RestoreSize = vs.Status.RestoreSize.String()
	case c.Status != nil && c.Status.RestoreSize != nil:
		r.RestoreSize = resource.NewQuantity(*c.Status.RestoreSize, resource.BinarySI).String()
	}
	switch {
	case vs.Status.CreationTime != nil:
		r.CreationTime = vs.Status.CreationTime.UTC().Format(time.RFC3339)
	case c.Status != nil && c.Status.CreationTime != nil:
		r.CreationTime = time.Unix(0, *c.Status.CreationTime).UTC().Format(time.RFC3339)
	}
	return r
}
