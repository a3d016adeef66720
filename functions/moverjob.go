package functions

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// locationOf is the ActionSet's Location, which the controller resolved
// once for the run, when it is the one named: a function moves data only
// to and from its ActionSet's Location.
func locationOf(rt *function.Runtime, name string) (*v1alpha1.Location, error) {
	loc := rt.Location
	switch {
	case loc == nil:
		return nil, function.Permanent(fmt.Errorf("Location %s/%s not found: the ActionSet names no spec.location", rt.Action.Namespace, name))
	case loc.Name != name:
		return nil, function.Permanent(fmt.Errorf("Location %s/%s is not the ActionSet's Location %s", rt.Action.Namespace, name, loc.Name))
	}
	if err := repository.CheckLocation(loc); err != nil {
		return nil, function.Permanent(err)
	}
	return loc, nil
}

// manifestMoverTimeout bounds a record or forget mover: they only read
// and write kopia manifests, never volume data.
const manifestMoverTimeout = 10 * time.Minute

// moverJob is one mover pod's work.
type moverJob struct {
	mode, namespace, claim, name string
	bundleSecret                 string // put-resources' bundle
	timeout                      time.Duration
	request                      mover.Request
	progress                     func(done, total int64)
}

// moverCredentials copies a Location's secrets into the namespaces of the
// claims one call moves, once per namespace.
type moverCredentials struct {
	loc    *v1alpha1.Location
	copies map[string]string // namespace to Secret name
}

func newMoverCredentials(loc *v1alpha1.Location) *moverCredentials {
	return &moverCredentials{loc: loc, copies: map[string]string{}}
}

// secretIn returns the copy in namespace, making it on first use.
func (m *moverCredentials) secretIn(ctx context.Context, rt *function.Runtime, namespace string) (string, error) {
	if name, ok := m.copies[namespace]; ok {
		return name, nil
	}
	name, err := copyCredentials(ctx, rt, m.loc, namespace)
	if err == nil {
		m.copies[namespace] = name
	}
	return name, err
}

// runMover runs a mover pod with the Location's secrets copied next to the
// claim, and returns its result. Pod and copy are cleanups, so an
// interrupted run still removes them; a mover that failed is deleted so a
// retry of the phase starts a fresh one. A backup's mover that succeeded
// stays until the action ends: a phase resumed after a crash, or retried,
// reads its result again instead of exporting or recording twice.
func runMover(ctx context.Context, rt *function.Runtime, creds *moverCredentials, job moverJob) (mover.Line, error) {
	if err := claimExists(ctx, rt, job); err != nil {
		return mover.Line{}, err
	}
	secret, err := creds.secretIn(ctx, rt, job.namespace)
	if err != nil {
		return mover.Line{}, err
	}
	pod, err := mover.Pod(mover.PodOptions{
		Name: job.name, Namespace: job.namespace, Labels: ownedMeta(rt, "mover", job.namespace, job.name).Labels,
		Image: rt.Clients.Mover.Image, Command: rt.Clients.Mover.Command, Mode: job.mode,
		Claim: job.claim, CredentialsSecret: secret, BundleSecret: job.bundleSecret, Request: job.request,
	})
	if err != nil {
		return mover.Line{}, err
	}
	if err := rt.Cleanup(ctx, moverKey("pod", job.namespace, job.name)); err != nil {
		return mover.Line{}, err
	}
	if err := createMoverPod(ctx, rt, pod, job.timeout); err != nil {
		return mover.Line{}, err
	}
	pods := rt.Clients.Kube.CoreV1().Pods(job.namespace)
	res, err := followMover(ctx, rt, job)
	if (err == nil && keepsSucceededMover[job.mode]) || function.Interrupted(ctx) {
		return res, err // an interrupted call's mover goes on, for the resumed phase to follow
	}
	if delErr := pods.Delete(context.WithoutCancel(ctx), job.name, metav1.DeleteOptions{}); delErr != nil && !apierrors.IsNotFound(delErr) {
		err = errors.Join(err, fmt.Errorf("delete mover pod %s/%s: %w", job.namespace, job.name, delErr))
	}
	return res, err
}

// createMoverPod creates the mover pod. One of the same name that runs
// is adopted: a resumed run follows the mover it started. One that failed
// or is being deleted, left by an earlier attempt, is replaced once gone.
func createMoverPod(ctx context.Context, rt *function.Runtime, pod *corev1.Pod, timeout time.Duration) error {
	pods := rt.Clients.Kube.CoreV1().Pods(pod.Namespace)
	_, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return wrapCreateMover(pod, err)
	}
	old, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("get mover pod %s/%s: %w", pod.Namespace, pod.Name, err)
	case old.DeletionTimestamp == nil && old.Status.Phase != corev1.PodFailed:
		return nil
	default:
		if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete the earlier mover pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		err := untilExisting(ctx, timeout, podListWatch(rt.Clients.Kube, pod.Namespace, pod.Name), &corev1.Pod{}, pod.Namespace, pod.Name,
			func(obj runtime.Object) (bool, error) { return obj == nil, nil })
		if err != nil {
			return fmt.Errorf("wait for the earlier mover pod %s/%s to go: %w", pod.Namespace, pod.Name, err)
		}
	}
	_, err = pods.Create(ctx, pod, metav1.CreateOptions{})
	return wrapCreateMover(pod, err)
}

// claimExists fails at once when the claim a mover would mount is
// missing: its pod would wait unschedulable until the timeout.
func claimExists(ctx context.Context, rt *function.Runtime, job moverJob) error {
	if job.claim == "" {
		return nil
	}
	_, err := rt.Clients.Kube.CoreV1().PersistentVolumeClaims(job.namespace).Get(ctx, job.claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return function.Permanent(fmt.Errorf("claim %s/%s does not exist: the mover has nothing to mount", job.namespace, job.claim))
	}
	if err != nil {
		return fmt.Errorf("get claim %s/%s: %w", job.namespace, job.claim, err)
	}
	return nil
}

func wrapCreateMover(pod *corev1.Pod, err error) error {
	if err != nil {
		return fmt.Errorf("create mover pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// copyCredentials puts the repository password and the store's
// credentials in a Secret in namespace, since a pod can only read Secrets
// of its own namespace. Only the keys the mover reads are copied.
func copyCredentials(ctx context.Context, rt *function.Runtime, loc *v1alpha1.Location, namespace string) (string, error) {
	data, err := repository.LocationSecrets(ctx, loc, secretReader(rt))
	if err != nil {
		return "", err
	}
	name := rt.Names.Name("credentials")
	if err := rt.Cleanup(ctx, moverKey("secret", namespace, name)); err != nil {
		return "", err
	}
	secret := &corev1.Secret{ObjectMeta: ownedMeta(rt, "mover", namespace, name), Data: data}
	api := rt.Clients.Kube.CoreV1().Secrets(namespace)
	_, err = api.Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = api.Update(ctx, secret, metav1.UpdateOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("copy the Location's credentials to %s: %w", namespace, err)
	}
	return name, nil
}

// secretReader reads Secrets as the run's account.
func secretReader(rt *function.Runtime) repository.SecretReader {
	return func(ctx context.Context, namespace, name string) (map[string][]byte, error) {
		s, err := rt.Clients.Kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
}

// followMover streams the mover's log, reporting its progress, until the
// pod ends; then returns its final line.
func followMover(ctx context.Context, rt *function.Runtime, job moverJob) (mover.Line, error) {
	ctx, cancel := context.WithTimeout(ctx, job.timeout)
	defer cancel()
	if _, err := waitPodStarted(ctx, rt, job); err != nil {
		return mover.Line{}, err
	}
	var last mover.Line
	stream, err := rt.Clients.Kube.CoreV1().Pods(job.namespace).GetLogs(job.name, &corev1.PodLogOptions{Container: "mover", Follow: true}).Stream(ctx)
	if err != nil {
		return mover.Line{}, fmt.Errorf("follow mover pod %s/%s: %w", job.namespace, job.name, err)
	}
	sc := bufio.NewScanner(stream)
	sc.Buffer(nil, maxMoverLine)
	for sc.Scan() {
		var l mover.Line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a log line of kopia's, not the protocol
		}
		if l.Progress != nil && job.progress != nil {
			job.progress(progressBytes(*l.Progress))
			failpoint.Hit(moverFailpoints[job.mode])
		}
		last = l
	}
	_ = stream.Close()
	pod, err := waitPodDone(ctx, rt.Clients.Kube, job.namespace, job.name, job.timeout)
	switch {
	case err != nil:
		return mover.Line{}, fmt.Errorf("mover pod %s/%s: %w", job.namespace, job.name, err)
	case last.Error != "" && last.Permanent:
		return mover.Line{}, function.Permanent(fmt.Errorf("%w: %s", errMoverFailed, last.Error))
	case last.Error != "":
		return mover.Line{}, fmt.Errorf("%w: %s", errMoverFailed, last.Error)
	case pod.Status.Phase != corev1.PodSucceeded || !last.Done(job.mode):
		return mover.Line{}, fmt.Errorf("mover pod %s/%s ended %s without a %s result", job.namespace, job.name, podState(pod), job.mode)
	}
	return last, nil
}

// waitPodStarted waits until the mover runs or has ended, so its log can
// be followed. A mover the scheduler cannot place fails after
// unschedulableGrace, saying why.
func waitPodStarted(ctx context.Context, rt *function.Runtime, job moverJob) (*corev1.Pod, error) {
	ctx, limit, done := withUnschedulableLimit(ctx, rt.Clock, unschedulableGrace, func(reason string) {
		rt.Message(fmt.Sprintf("mover pod %s/%s is unschedulable: %s", job.namespace, job.name, reason))
	})
	defer done()
	var pod *corev1.Pod
	err := untilExisting(ctx, job.timeout, podListWatch(rt.Clients.Kube, job.namespace, job.name), &corev1.Pod{}, job.namespace, job.name,
		func(obj runtime.Object) (bool, error) {
			if obj == nil {
				return false, errors.New("the pod was deleted before it started")
			}
			pod = obj.(*corev1.Pod)
			limit.observe(pod)
			return pod.Status.Phase != corev1.PodPending, nil
		})
	if err != nil {
		return nil, fmt.Errorf("mover pod %s/%s did not start (%s): %w", job.namespace, job.name, podState(pod), err)
	}
	return pod, nil
}

// progressBytes is a mover's progress as bytes done of total; the total
// is 0 (unknown) until the mover has estimated it, so the bar does not
// show 100% of what has been hashed so far.
func progressBytes(p repository.Progress) (done, total int64) {
	if p.BytesEstimated == 0 {
		return p.BytesHashed, 0
	}
	return p.BytesHashed, max(p.BytesEstimated, p.BytesHashed)
}

// progressOf is the progress of volume i of n, done of total bytes.
func progressOf(i, n int, done, total int64) v1alpha1.Progress {
	pct := int32(0)
	if total > 0 {
		pct = int32(min(done*100/total, 100))
	}
	return v1alpha1.Progress{Percent: (int32(i)*100 + pct) / int32(max(n, 1)), BytesDone: done, BytesTotal: total}
}

// keepsSucceededMover are the modes whose succeeded movers stay until the
// action ends. A restore mover goes at once, since the workload restored
// next may need its claim to itself (ReadWriteOncePod); a repeated restore
// rewrites the same data.
var keepsSucceededMover = map[string]bool{mover.ModeExport: true, mover.ModeRecord: true, mover.ModePutResources: true}

// maxMoverLine bounds one line of a mover's log: a get-resources result
// carries a whole sealed bundle.
const maxMoverLine = 8 << 20

// moverFailpoints are the crash tests' points while a mover moves data.
var moverFailpoints = map[string]string{mover.ModeExport: failpoint.ExportUploading, mover.ModeRestore: failpoint.RestoreMoving}

func moverKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

func splitMoverKey(key string) (kind, namespace, name string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || (parts[0] != "pod" && parts[0] != "secret") {
		return "", "", "", fmt.Errorf("cleanup key %q is not pod|secret/namespace/name", key)
	}
	return parts[0], parts[1], parts[2], nil
}
