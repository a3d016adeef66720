package processnode

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// shutdownGraceCap bounds how long Run waits for a pod's containers after
// SIGTERM when the node itself stops.
const shutdownGraceCap = 10 * time.Second

// podWorker runs one pod (one UID) from the first sight of it until its
// object is deleted or the node stops.
type podWorker struct {
	n    *Node
	ctx  context.Context // the node's context: API calls
	uid  types.UID
	dir  string         // StateDir/pods/<uid>
	spec corev1.PodSpec // as first seen; the fields used are immutable

	updates  chan *corev1.Pod // capacity 1: the latest pod wins
	gone     chan struct{}    // closed when the pod object is gone
	goneOnce sync.Once
	changed  chan struct{} // capacity 1: status needs pushing
	finished chan struct{} // closed when run returns
	stopCh   chan struct{} // closed when containers must not (re)start
	stopOnce sync.Once
	exited   chan struct{} // closed when runContainers returned

	mu       sync.Mutex
	pod      *corev1.Pod
	rs       runtimeState
	procs    map[string]*proc // latest process per container name
	stopping bool
	vols     *podVolumes

	lastPushed *corev1.PodStatus // only used by the run goroutine
}

func newPodWorker(ctx context.Context, n *Node, pod *corev1.Pod) *podWorker {
	w := &podWorker{
		n: n, ctx: ctx, uid: pod.UID, dir: n.podDir(pod.UID), spec: *pod.Spec.DeepCopy(),
		updates: make(chan *corev1.Pod, 1), gone: make(chan struct{}), changed: make(chan struct{}, 1),
		finished: make(chan struct{}), stopCh: make(chan struct{}), exited: make(chan struct{}),
		pod: pod, procs: map[string]*proc{}, vols: newPodVolumes(),
	}
	w.update(pod)
	return w
}

// update hands the worker the latest version of its pod. Only the informer
// goroutine calls it, so the send after draining never blocks.
func (w *podWorker) update(pod *corev1.Pod) {
	select {
	case <-w.updates:
	default:
	}
	w.updates <- pod
}

// markGone tells the worker its pod object no longer exists.
func (w *podWorker) markGone() { w.goneOnce.Do(func() { close(w.gone) }) }

func (w *podWorker) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *podWorker) setPod(p *corev1.Pod) {
	w.mu.Lock()
	w.pod = p
	w.mu.Unlock()
}

func (w *podWorker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) log() klog.Logger {
	p := w.currentPod()
	return klog.FromContext(w.ctx).WithValues("pod", klog.KObj(p), "uid", w.uid)
}

// setState changes the status of one container and schedules a push.
func (w *podWorker) setState(name string, isInit bool, fn func(*corev1.ContainerStatus)) {
	w.mu.Lock()
	list, specs := &w.rs.main, w.spec.Containers
	if isInit {
		list, specs = &w.rs.init, w.spec.InitContainers
	}
	i := -1
	for j := range *list {
		if (*list)[j].Name == name {
			i = j
		}
	}
	if i < 0 {
		s := corev1.ContainerStatus{Name: name}
		for _, c := range specs {
			if c.Name == name {
				s.Image, s.ImageID = c.Image, "processnode://"+c.Image
			}
		}
		*list = append(*list, s)
		i = len(*list) - 1
	}
	fn(&(*list)[i])
	w.mu.Unlock()
	w.notify()
}

// pushStatus writes the status computed from the runtime state through the
// pods/status subresource, unless it is unchanged.
func (w *podWorker) pushStatus() {
	client := w.n.client.CoreV1().Pods(w.currentPod().Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		pod := w.currentPod()
		w.mu.Lock()
		rs := w.rs
		rs.init = append([]corev1.ContainerStatus(nil), w.rs.init...)
		rs.main = append([]corev1.ContainerStatus(nil), w.rs.main...)
		w.mu.Unlock()
		st := buildStatus(pod, rs, nowSeconds())
		if apiequality.Semantic.DeepEqual(pod.Status, st) {
			return nil
		}
		if w.lastPushed != nil && apiequality.Semantic.DeepEqual(*w.lastPushed, st) {
			return nil // what the apiserver normalized differently was sent already
		}
		upd := pod.DeepCopy()
		upd.Status = st
		got, err := client.UpdateStatus(w.ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, gerr := client.Get(w.ctx, pod.Name, metav1.GetOptions{}); gerr == nil && fresh.UID == w.uid {
				w.setPod(fresh)
			}
		}
		if err != nil {
			return err
		}
		w.setPod(got)
		w.lastPushed = &st
		return nil
	})
	if err != nil && !apierrors.IsNotFound(err) && w.ctx.Err() == nil {
		w.log().Error(err, "update pod status")
		time.AfterFunc(2*time.Second, w.notify) // try again
	}
}

// nowSeconds is the current time at the precision the API stores, so that
// a status read back compares equal to the one written.
func nowSeconds() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

// run is the worker's life: prepare, run containers, react to deletion.
func (w *podWorker) run() {
	defer close(w.finished)
	pod := <-w.updates
	w.setPod(pod)
	if pod.DeletionTimestamp != nil || isTerminal(pod.Status.Phase) {
		w.idle(pod) // finished before this node (re)started: never rerun
		return
	}
	w.mu.Lock()
	w.rs.startTime = nowSeconds()
	w.mu.Unlock()
	if !w.prepareLoop() {
		return
	}
	go func() {
		defer close(w.exited)
		w.runContainers()
	}()
	exited := w.exited
	tokens := time.NewTicker(30 * time.Second)
	defer tokens.Stop()
	for {
		select {
		case p := <-w.updates:
			w.setPod(p)
			if p.DeletionTimestamp != nil {
				w.terminate(gracePeriod(p))
				w.finish(true)
				return
			}
		case <-w.gone:
			w.terminate(0)
			w.finish(false)
			return
		case <-w.changed:
			w.pushStatus()
		case <-exited:
			exited = nil // all containers ended for good: release volumes
			w.teardownVolumes()
			w.pushStatus()
		case <-tokens.C:
			if err := w.vols.refreshTokens(w.ctx, w); err != nil {
				w.log().Error(err, "refresh service account tokens")
			}
		case <-w.ctx.Done():
			w.terminate(min(gracePeriod(w.currentPod()), shutdownGraceCap))
			w.teardownVolumes()
			return
		}
	}
}

// prepareLoop sets up the pod's volumes, retrying (and saying why in the
// pod's status) until it works. It returns false when the pod went away
// or the node stopped meanwhile.
func (w *podWorker) prepareLoop() bool {
	for {
		err := w.prepare()
		w.mu.Lock()
		w.rs.sandboxReady = err == nil
		w.rs.message = ""
		if err != nil {
			w.rs.message = err.Error()
		}
		w.mu.Unlock()
		w.pushStatus()
		if err == nil {
			return true
		}
		w.log().V(2).Info("pod not ready to start", "reason", err.Error())
		select {
		case p := <-w.updates:
			w.setPod(p)
			if p.DeletionTimestamp != nil {
				w.finish(true)
				return false
			}
		case <-w.gone:
			w.finish(false)
			return false
		case <-w.ctx.Done():
			w.teardownVolumes()
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

// idle waits for the deletion of a pod this node does not run.
func (w *podWorker) idle(pod *corev1.Pod) {
	for {
		if pod.DeletionTimestamp != nil {
			w.finish(true)
			return
		}
		select {
		case pod = <-w.updates:
			w.setPod(pod)
		case <-w.gone:
			w.finish(false)
			return
		case <-w.ctx.Done():
			return
		}
	}
}

// terminate stops every container: SIGTERM to each process group, SIGKILL
// after grace, and waits until all are reaped.
func (w *podWorker) terminate(grace time.Duration) {
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
	w.stopOnce.Do(func() { close(w.stopCh) })
	w.signalAll(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(grace):
		w.signalAll(syscall.SIGKILL)
		<-w.exited
	}
}

// finish releases the pod's volumes and state dir and, if deleteObject,
// deletes the pod object with grace period 0 so that it disappears.
func (w *podWorker) finish(deleteObject bool) {
	ok := w.teardownVolumes()
	if ok {
		if err := removeStateDir(w.dir); err != nil {
			w.log().Error(err, "remove pod state dir")
		}
	}
	if !deleteObject {
		return
	}
	pod := w.currentPod()
	zero := int64(0)
	err := w.n.client.CoreV1().Pods(pod.Namespace).Delete(w.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &w.uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.log().Error(err, "delete pod")
	}
}

// teardownVolumes unpublishes the pod's CSI volumes; it reports success.
func (w *podWorker) teardownVolumes() bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 2*time.Minute)
	defer cancel()
	if err := w.vols.teardown(ctx, w.n.csi); err != nil {
		w.log().Error(err, "tear down volumes")
		return false
	}
	return true
}

// gracePeriod is how long a deleted pod's containers get after SIGTERM.
func gracePeriod(p *corev1.Pod) time.Duration {
	switch {
	case p.DeletionGracePeriodSeconds != nil:
		return time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
	case p.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// removeStateDir deletes a pod's state dir, but never while anything is
// still mounted below it (RemoveAll would delete a volume's data).
func removeStateDir(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("keep %s: still mounted: %v", dir, mounts)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
