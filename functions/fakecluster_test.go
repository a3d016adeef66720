package functions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	groupv1beta2 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1beta2"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

const (
	testDriver = "hostpath.csi.k8s.io"
	testNS     = "app"
)

var (
	vsGVR  = snapv1.SchemeGroupVersion.WithResource("volumesnapshots")
	vscGVR = snapv1.SchemeGroupVersion.WithResource("volumesnapshotcontents")
)

// fakeCluster is a fake cluster for the volume functions: fake clientsets
// and a Runtime that records what the function asks of the engine.
type fakeCluster struct {
	kube *kubefake.Clientset
	snap *snapfake.Clientset
	rt   *function.Runtime

	mu        sync.Mutex
	events    []string // "cleanup <key>", "release", "message <text>", in order
	onRelease func()   // runs inside ReleaseHolds
}

// newFakeCluster builds a fake cluster holding objs, sorted to the fake
// clientset of their API group.
func newFakeCluster(t *testing.T, objs ...runtime.Object) *fakeCluster {
	t.Helper()
	var kubeObjs, snapObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *snapv1.VolumeSnapshot, *snapv1.VolumeSnapshotContent, *snapv1.VolumeSnapshotClass,
			*groupv1beta2.VolumeGroupSnapshot, *groupv1beta2.VolumeGroupSnapshotClass, *groupv1beta2.VolumeGroupSnapshotContent:
			snapObjs = append(snapObjs, o)
		default:
			kubeObjs = append(kubeObjs, o)
		}
	}
	fc := &fakeCluster{kube: kubefake.NewClientset(kubeObjs...), snap: snapfake.NewSimpleClientset(snapObjs...)}
	fc.rt = &function.Runtime{
		Names:    function.NewNames("backup-x1", "uid-1", "snap"),
		Progress: function.NoProgress{},
		Clock:    clock.RealClock{},
		Clients:  function.Clients{Kube: fc.kube, Snapshots: fc.snap},
		Cleanup:  func(_ context.Context, key string) error { fc.record("cleanup " + key); return nil },
		Message:  func(msg string) { fc.record("message " + msg) },
		Hold:     func(_ context.Context, key string) error { fc.record("hold " + key); return nil },
		ReleaseHolds: func(context.Context) (time.Duration, error) {
			fc.record("release")
			if fc.onRelease != nil {
				fc.onRelease()
			}
			return 1500 * time.Millisecond, nil
		},
	}
	return fc
}

func (fc *fakeCluster) record(e string) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.events = append(fc.events, e)
}

func (fc *fakeCluster) recorded() []string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.Clone(fc.events)
}

// bindClaims makes the fake provisioner bind every claim as it is created.
func (fc *fakeCluster) bindClaims() {
	fc.kube.PrependReactor("create", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pvc := a.(k8stesting.CreateAction).GetObject().(*corev1.PersistentVolumeClaim)
		pvc.Status.Phase = corev1.ClaimBound
		return false, nil, nil
	})
}

// actions lists the snapshot API calls as "verb resource name".
func (fc *fakeCluster) actions(resource string) []string {
	var out []string
	for _, a := range fc.snap.Actions() {
		if a.GetResource().Resource != resource {
			continue
		}
		name := ""
		switch a := a.(type) {
		case k8stesting.GetAction:
			name = a.GetName()
		case k8stesting.DeleteAction:
			name = a.GetName()
		case k8stesting.PatchAction:
			name = a.GetName()
		case k8stesting.CreateAction:
			name = a.GetObject().(metav1.Object).GetName()
		}
		out = append(out, a.GetVerb()+" "+name)
	}
	return out
}

// control runs a fake controller until the test ends. It reads what w
// delivers and calls sync with each object added or modified; sync writes
// what the controller would into the tracker, so the function's watches
// see it. Once wake is closed (nil: never), it calls sync with nil, for a
// controller that was held back to look at everything again.
func control(t *testing.T, w watch.Interface, wake <-chan struct{}, sync func(obj runtime.Object)) {
	done := make(chan struct{})
	t.Cleanup(func() {
		w.Stop()
		<-done
	})
	go func() {
		defer close(done)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					sync(ev.Object)
				}
			case <-wake:
				wake = nil
				sync(nil)
			}
		}
	}()
}

// fakeSnapshotter is a fake snapshot controller and CSI driver. It watches
// the VolumeSnapshots and moves each on as it is created or changes: first
// it binds a content and cuts it, then, once ready is closed, marks it
// ready. With failure set it binds a content but never cuts, reporting
// failure as the snapshot's error.
type fakeSnapshotter struct {
	fc      *fakeCluster
	ready   <-chan struct{} // nil: ready as soon as cut
	failure string
}

// install starts the fake controller; it sees the snapshots there are
// already and every one created after.
func (fs *fakeSnapshotter) install(t *testing.T) {
	w, err := fs.fc.snap.SnapshotV1().VolumeSnapshots(metav1.NamespaceAll).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	control(t, w, fs.ready, func(obj runtime.Object) {
		if obj != nil {
			vs := obj.(*snapv1.VolumeSnapshot)
			fs.step(t, vs.Namespace, vs.Name)
			return
		}
		list, err := fs.fc.snap.Tracker().List(vsGVR, snapv1.SchemeGroupVersion.WithKind("VolumeSnapshot"), metav1.NamespaceAll)
		if err != nil {
			t.Error(err)
			return
		}
		for _, vs := range list.(*snapv1.VolumeSnapshotList).Items {
			fs.step(t, vs.Namespace, vs.Name)
		}
	})
}

// mayBeReady reports whether snapshots may become ready yet.
func (fs *fakeSnapshotter) mayBeReady() bool {
	if fs.ready == nil {
		return true
	}
	select {
	case <-fs.ready:
		return true
	default:
		return false
	}
}

// step moves snapshot ns/name on by one state, as it is in the tracker now.
func (fs *fakeSnapshotter) step(t *testing.T, ns, name string) {
	tr := fs.fc.snap.Tracker()
	obj, err := tr.Get(vsGVR, ns, name)
	if err != nil {
		return // deleted meanwhile
	}
	vs := obj.(*snapv1.VolumeSnapshot).DeepCopy()
	if vs.Spec.Source.PersistentVolumeClaimName == nil || vs.Status != nil && ptr.Deref(vs.Status.ReadyToUse, false) {
		return
	}
	if vs.Status == nil {
		content := fs.content(vs)
		if err := tr.Add(content); err != nil {
			t.Error(err)
			return
		}
		vs.Status = &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To(content.Name), ReadyToUse: ptr.To(false)}
		if fs.failure != "" {
			vs.Status.Error = &snapv1.VolumeSnapshotError{Message: ptr.To(fs.failure)}
		} else {
			vs.Status.CreationTime = ptr.To(metav1.NewTime(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)))
			vs.Status.RestoreSize = ptr.To(resource.MustParse("2Gi"))
		}
	} else if fs.failure == "" && fs.mayBeReady() {
		vs.Status.ReadyToUse = ptr.To(true)
	} else {
		return
	}
	if err := tr.Update(vsGVR, vs, ns); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
}

// content is the content the fake controller binds to vs, with the class's
// driver and deletion policy.
func (fs *fakeSnapshotter) content(vs *snapv1.VolumeSnapshot) *snapv1.VolumeSnapshotContent {
	policy := snapv1.VolumeSnapshotContentDelete
	if c, err := fs.fc.snap.Tracker().Get(snapv1.SchemeGroupVersion.WithResource("volumesnapshotclasses"), "", ptr.Deref(vs.Spec.VolumeSnapshotClassName, "")); err == nil {
		policy = c.(*snapv1.VolumeSnapshotClass).DeletionPolicy
	}
	c := &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-" + vs.Name},
		Spec: snapv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef:       corev1.ObjectReference{Namespace: vs.Namespace, Name: vs.Name},
			DeletionPolicy:          policy,
			Driver:                  testDriver,
			VolumeSnapshotClassName: vs.Spec.VolumeSnapshotClassName,
			Source:                  snapv1.VolumeSnapshotContentSource{VolumeHandle: ptr.To("vol-" + *vs.Spec.Source.PersistentVolumeClaimName)},
		},
	}
	if fs.failure == "" {
		c.Status = &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To("snap-" + vs.Name)}
	}
	return c
}

// boundClaim is a bound claim of StorageClass sc and its CSI volume.
func boundClaim(name, sc string) []runtime.Object {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(sc),
			VolumeName:       "pv-" + name,
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + name},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: testDriver, VolumeHandle: "vol-" + name},
		}},
	}
	return []runtime.Object{pvc, pv}
}

func storageClass(name string, annotations map[string]string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name, Annotations: annotations},
		Provisioner:       testDriver,
		VolumeBindingMode: &mode,
	}
}

func newVSClass(name, driver string, policy snapv1.DeletionPolicy, annotations map[string]string) *snapv1.VolumeSnapshotClass {
	return &snapv1.VolumeSnapshotClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Driver:     driver, DeletionPolicy: policy, Parameters: map[string]string{"tier": "fast"},
	}
}

var marked = map[string]string{annotationIsSnapshotClass: "true"}

// invoke calls fn as the engine does: defaults applied, args by name.
func invoke(ctx context.Context, fn function.Function, rt *function.Runtime, args map[string]any) (map[string]any, error) {
	full := map[string]any{}
	for _, a := range fn.Signature().Args {
		if a.Default != nil {
			full[a.Name] = a.Default
		}
	}
	maps.Copy(full, args)
	return fn.Invoke(ctx, rt, full)
}

// objects flattens object lists for newFakeCluster.
func objects(parts ...any) []runtime.Object {
	var out []runtime.Object
	for _, p := range parts {
		switch p := p.(type) {
		case runtime.Object:
			out = append(out, p)
		case []runtime.Object:
			out = append(out, p...)
		default:
			panic(fmt.Sprintf("objects: %T", p))
		}
	}
	return out
}
