package functions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	groupv1beta2 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1beta2"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// labelGroupSnapshot selects the claims of one VolumeGroupSnapshot; the
// value is the group's name, and the label goes once the group is taken.
const labelGroupSnapshot = "snapflow.dev/group-snapshot"

// snapshotGroup takes one VolumeGroupSnapshot (groupsnapshot.storage.k8s.io
// v1beta2, served by external-snapshotter 8.3 and later) over the claims,
// so the driver cuts them at one instant. The snapshot controller makes a
// member VolumeSnapshot per claim; those are what the outputs list.
func snapshotGroup(ctx context.Context, rt *function.Runtime, in SnapshotArgs, claims []claim) (SnapshotOutputs, error) {
	for _, cl := range claims[1:] {
		if cl.driver != claims[0].driver {
			return SnapshotOutputs{}, function.Permanent(fmt.Errorf("a group snapshot takes claims of one driver, but %s is on %q and %s on %q",
				claims[0], claims[0].driver, cl, cl.driver))
		}
	}
	api := groupSnapshotClasses(rt.Clients.Snapshots)
	classes, err := chooseClasses(ctx, rt, api, in.VolumeSnapshotClass, in.Durable, claims)
	if err != nil {
		return SnapshotOutputs{}, err
	}
	for i, c := range classes {
		if c != classes[0] {
			return SnapshotOutputs{}, function.Permanent(fmt.Errorf("claims %s and %s need different VolumeGroupSnapshotClasses (%s, %s), but a group takes one; pass volumeSnapshotClass",
				claims[0], claims[i], classes[0], c))
		}
	}
	g := &groupRun{rt: rt, ns: in.Namespace, claims: claims, name: rt.Names.Name("group"), timeout: in.Timeout.Duration}
	out, err := g.run(ctx, classes[0])
	if err != nil {
		return SnapshotOutputs{}, g.rollback(ctx, err)
	}
	return out, nil
}

// groupRun is one call's VolumeGroupSnapshot.
type groupRun struct {
	rt      *function.Runtime
	ns      string
	claims  []claim
	name    string
	timeout time.Duration // to be cut and ready
}

func (g *groupRun) run(ctx context.Context, class string) (SnapshotOutputs, error) {
	defer g.unlabel(ctx)
	if err := g.label(ctx, true); err != nil {
		return SnapshotOutputs{}, err
	}
	if err := g.create(ctx, class); err != nil {
		return SnapshotOutputs{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	cut := func(st *groupv1beta2.VolumeGroupSnapshotStatus) bool { return st.CreationTime != nil }
	if err := g.await(wctx, "cut", 0, cut); err != nil {
		return SnapshotOutputs{}, err
	}
	held, err := g.rt.ReleaseHolds(ctx)
	if err != nil {
		return SnapshotOutputs{}, fmt.Errorf("release quiesce holds after the group snapshot was cut: %w", err)
	}
	g.rt.Message(fmt.Sprintf("group snapshot %s cut; quiesce held %s; waiting until ready", g.name, held))
	ready := func(st *groupv1beta2.VolumeGroupSnapshotStatus) bool { return ptr.Deref(st.ReadyToUse, false) }
	if err := g.await(wctx, "ready", 50, ready); err != nil {
		return SnapshotOutputs{}, err
	}
	out, err := g.records(ctx)
	out.QuiesceHold = held.String()
	return out, err
}

// label puts the group's selector label on the claims (on) or takes it off.
func (g *groupRun) label(ctx context.Context, on bool) error {
	value := `null`
	if on {
		value = `"` + g.name + `"`
	}
	patch := []byte(`{"metadata":{"labels":{"` + labelGroupSnapshot + `":` + value + `}}}`)
	var errs []error
	for _, cl := range g.claims {
		_, err := g.rt.Clients.Kube.CoreV1().PersistentVolumeClaims(g.ns).Patch(ctx, cl.pvc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil && (on || !apierrors.IsNotFound(err)) {
			errs = append(errs, fmt.Errorf("label claim %s: %w", cl, err))
		}
	}
	return errors.Join(errs...)
}

// unlabel takes the selector label off once the group has its members (or
// failed). A label left behind selects nothing else, so failing to remove
// it is only reported.
func (g *groupRun) unlabel(ctx context.Context) {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := g.label(ctx, false); err != nil {
		g.rt.Message(fmt.Sprintf("could not remove label %s from the claims: %v", labelGroupSnapshot, err))
	}
}

func (g *groupRun) create(ctx context.Context, class string) error {
	api := g.rt.Clients.Snapshots.GroupsnapshotV1beta2().VolumeGroupSnapshots(g.ns)
	vgs := &groupv1beta2.VolumeGroupSnapshot{
		ObjectMeta: ownedMeta(g.rt, snapshotSignature.Name, g.ns, g.name),
		Spec: groupv1beta2.VolumeGroupSnapshotSpec{
			Source: groupv1beta2.VolumeGroupSnapshotSource{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{labelGroupSnapshot: g.name}},
			},
			VolumeGroupSnapshotClassName: ptr.To(class),
		},
	}
	_, err := api.Create(ctx, vgs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var have *groupv1beta2.VolumeGroupSnapshot
		if have, err = api.Get(ctx, g.name, metav1.GetOptions{}); err == nil && !createdBy(g.rt, have) {
			err = function.Permanent(errors.New("it exists but was not created by this phase"))
		}
	}
	if err != nil {
		return fmt.Errorf("create VolumeGroupSnapshot %s/%s: %w", g.ns, g.name, err)
	}
	return nil
}

// await watches the group until done holds; on timeout the error quotes
// the group's own error.
func (g *groupRun) await(ctx context.Context, what string, base int32, done func(*groupv1beta2.VolumeGroupSnapshotStatus) bool) error {
	groups := g.rt.Clients.Snapshots.GroupsnapshotV1beta2().VolumeGroupSnapshots(g.ns)
	lw := namedListWatch(g.rt.Clients.Snapshots, g.name,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return groups.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return groups.Watch(ctx, o) })
	problem := "not " + what + " yet"
	err := untilAllNamed(ctx, lw, &groupv1beta2.VolumeGroupSnapshot{}, []string{g.name}, func(vgss map[string]*groupv1beta2.VolumeGroupSnapshot) (bool, error) {
		vgs := vgss[g.name]
		if vgs == nil {
			return false, fmt.Errorf("VolumeGroupSnapshot %s/%s does not exist", g.ns, g.name)
		}
		if st := vgs.Status; st != nil && done(st) {
			g.rt.Progress.Report(v1alpha1.Progress{Percent: base + 50})
			return true, nil
		}
		if st := vgs.Status; st != nil && st.Error != nil && st.Error.Message != nil {
			problem = *st.Error.Message
		}
		return false, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("VolumeGroupSnapshot %s/%s not %s within %s: %s: %w", g.ns, g.name, what, g.timeout, problem, err)
	}
	return err
}

// records describes the group's member snapshot of each claim.
func (g *groupRun) records(ctx context.Context) (SnapshotOutputs, error) {
	members, err := groupMembers(ctx, g.rt.Clients.Snapshots, g.ns, g.name)
	if err != nil {
		return SnapshotOutputs{}, err
	}
	byClaim := map[string]string{}
	for _, vs := range members {
		byClaim[ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "")] = vs.Name
	}
	var out SnapshotOutputs
	var missing []string
	for _, cl := range g.claims {
		name, ok := byClaim[cl.pvc.Name]
		if !ok {
			missing = append(missing, cl.pvc.Name)
			continue
		}
		rec, err := getRecord(ctx, g.rt, g.ns, name, cl)
		if err != nil {
			return SnapshotOutputs{}, err
		}
		rec.Group = g.name
		out.Snapshots = append(out.Snapshots, rec)
	}
	if len(missing) > 0 {
		return SnapshotOutputs{}, fmt.Errorf("VolumeGroupSnapshot %s/%s is ready but has no member snapshot of claims %s",
			g.ns, g.name, strings.Join(missing, ", "))
	}
	return out, nil
}

// rollback deletes the group after a failure, with its members, contents
// and storage snapshots, unless it is someone else's or the call was
// interrupted by the controller stopping (the resumed phase adopts it).
func (g *groupRun) rollback(ctx context.Context, cause error) error {
	if function.Interrupted(ctx) {
		return cause
	}
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	vgs, err := g.rt.Clients.Snapshots.GroupsnapshotV1beta2().VolumeGroupSnapshots(g.ns).Get(ctx, g.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && !createdBy(g.rt, vgs)) {
		return cause
	}
	var members []string
	if err == nil {
		_, members, err = retireGroup(ctx, g.rt.Clients.Snapshots, g.ns, g.name)
	}
	if err == nil {
		err = awaitRetired(ctx, g.rt.Clients.Snapshots, g.ns, members)
	}
	if err != nil {
		return fmt.Errorf("%w (and cleaning up failed: %w)", cause, err)
	}
	return cause
}

// groupMembers lists the member VolumeSnapshots of group ns/name.
func groupMembers(ctx context.Context, cs snapshotclient.Interface, ns, name string) ([]snapv1.VolumeSnapshot, error) {
	list, err := cs.SnapshotV1().VolumeSnapshots(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list VolumeSnapshots in %s: %w", ns, err)
	}
	var out []snapv1.VolumeSnapshot
	for _, vs := range list.Items {
		if member(&vs, name) {
			out = append(out, vs)
		}
	}
	return out, nil
}

func member(vs *snapv1.VolumeSnapshot, group string) bool {
	if vs.Status != nil && ptr.Deref(vs.Status.VolumeGroupSnapshotName, "") == group {
		return true
	}
	for _, o := range vs.OwnerReferences {
		if o.Kind == "VolumeGroupSnapshot" && o.Name == group {
			return true
		}
	}
	return false
}

// retireGroup deletes group ns/name with its members, their contents and
// the storage snapshots; gone already is fine. It reports whether anything
// was there to delete, and the members it deleted.
func retireGroup(ctx context.Context, cs snapshotclient.Interface, ns, name string) (bool, []string, error) {
	groups := cs.GroupsnapshotV1beta2()
	vgs, err := groups.VolumeGroupSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return false, nil, fmt.Errorf("get VolumeGroupSnapshot %s/%s: %w", ns, name, err)
	}
	members, err := groupMembers(ctx, cs, ns, name)
	if err != nil {
		return found, nil, err
	}
	content := ""
	if found && vgs.Status != nil {
		content = ptr.Deref(vgs.Status.BoundVolumeGroupSnapshotContentName, "")
	}
	contents := groups.VolumeGroupSnapshotContents()
	if content != "" {
		_, err := contents.Patch(ctx, content, types.MergePatchType, deletePolicyPatch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return found, nil, fmt.Errorf("set deletionPolicy Delete on VolumeGroupSnapshotContent %s: %w", content, err)
		}
	}
	if found {
		if err := groups.VolumeGroupSnapshots(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return found, nil, fmt.Errorf("delete VolumeGroupSnapshot %s/%s: %w", ns, name, err)
		}
	}
	if content != "" {
		if err := contents.Delete(ctx, content, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return found, nil, fmt.Errorf("delete VolumeGroupSnapshotContent %s: %w", content, err)
		}
	}
	var names []string
	for _, vs := range members {
		ok, err := retireSnapshot(ctx, cs, ns, vs.Name)
		if err != nil {
			return found, names, err
		}
		found = found || ok
		names = append(names, vs.Name)
	}
	return found, names, nil
}
