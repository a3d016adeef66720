package functions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/cel-go/cel"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/snapflow/snapflow/engine/function"
)

// ScaleWorkload scales a Deployment or StatefulSet through its scale
// subresource and, unless told not to, waits until it is ready at the new
// count. Scaling to 0 stops an application for a cold backup; scaling back
// restarts it.
func ScaleWorkload() function.Function {
	return function.Typed[ScaleWorkloadArgs, ScaleWorkloadOutputs]{Sig: scaleWorkloadSignature, Run: runScaleWorkload}
}

var scaleWorkloadSignature = function.Signature{
	Name: "scaleWorkload",
	Doc:  "Scales a Deployment or StatefulSet and waits until it is ready at the new replica count.",
	Args: []function.Arg{
		{Name: "namespace", Type: cel.StringType, Required: true, Doc: "namespace of the workload"},
		{Name: "kind", Type: cel.StringType, Required: true, Doc: "Deployment or StatefulSet"},
		{Name: "name", Type: cel.StringType, Required: true, Doc: "name of the workload"},
		{Name: "replicas", Type: cel.IntType, Required: true, Doc: "the new replica count, 0 or more; e.g. ${{ phases.down.originalReplicas }} to scale back"},
		{Name: "wait", Type: cel.BoolType, Default: true, Doc: "wait until the workload is ready at the new count (at 0: until its pods are gone)"},
		{Name: "timeout", Type: cel.DurationType, Default: "5m", Doc: "how long the wait may take"},
	},
	Outputs: []function.Output{
		{Name: "originalReplicas", Type: cel.IntType, Doc: "the replica count before scaling"},
		{Name: "replicas", Type: cel.IntType, Doc: "the replica count after scaling"},
	},
}

// ScaleWorkloadArgs are scaleWorkload's arguments.
type ScaleWorkloadArgs struct {
	Namespace string          `json:"namespace"`
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Replicas  int64           `json:"replicas"`
	Wait      bool            `json:"wait"`
	Timeout   metav1.Duration `json:"timeout"`
}

// ScaleWorkloadOutputs are scaleWorkload's outputs.
type ScaleWorkloadOutputs struct {
	OriginalReplicas int64 `json:"originalReplicas"`
	Replicas         int64 `json:"replicas"`
}

func runScaleWorkload(ctx context.Context, rt *function.Runtime, in ScaleWorkloadArgs) (ScaleWorkloadOutputs, error) {
	ref := workloadRef{Namespace: in.Namespace, Kind: in.Kind, Name: in.Name}
	switch {
	case in.Namespace == "" || in.Name == "":
		return ScaleWorkloadOutputs{}, function.Permanent(errors.New("namespace and name must not be empty"))
	case in.Replicas < 0 || in.Replicas > math.MaxInt32:
		return ScaleWorkloadOutputs{}, function.Permanent(fmt.Errorf("replicas must be between 0 and %d, got %d", math.MaxInt32, in.Replicas))
	case in.Wait && in.Timeout.Duration <= 0:
		return ScaleWorkloadOutputs{}, function.Permanent(fmt.Errorf("timeout must be positive, got %s", in.Timeout.Duration))
	}
	if err := ref.check(); err != nil {
		return ScaleWorkloadOutputs{}, err
	}
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return ScaleWorkloadOutputs{}, err
	}
	replicas := int32(in.Replicas)
	rt.Message(fmt.Sprintf("scaling %s to %d", ref, replicas))
	var original int32
	var err error
	if in.Wait {
		original, err = scaleTo(ctx, rt.Clients.Kube, ref, replicas, in.Timeout.Duration)
	} else {
		original, err = setScale(ctx, rt.Clients.Kube, ref, replicas)
	}
	if err != nil {
		return ScaleWorkloadOutputs{}, err
	}
	rt.Message(fmt.Sprintf("scaled %s from %d to %d", ref, original, replicas))
	return ScaleWorkloadOutputs{OriginalReplicas: int64(original), Replicas: in.Replicas}, nil
}

// The workload kinds that scaleTo handles.
const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
)

// workloadRef names a Deployment or StatefulSet.
type workloadRef struct {
	Namespace, Kind, Name string
}

func (r workloadRef) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// check refuses kinds other than Deployment and StatefulSet, permanently.
func (r workloadRef) check() error {
	if r.Kind != kindDeployment && r.Kind != kindStatefulSet {
		return function.Permanent(fmt.Errorf("kind %q cannot be scaled: use %s or %s", r.Kind, kindDeployment, kindStatefulSet))
	}
	return nil
}

// scaleTo scales the workload to replicas through its scale subresource
// and waits, for at most timeout, until it is ready at that count (see
// waitReady). It returns the replica count before scaling: on a re-run,
// that is the count the first run scaled to. Scaling to the current count
// only waits. Errors name the workload; an unknown kind or a missing
// workload is permanent.
func scaleTo(ctx context.Context, kube kubernetes.Interface, ref workloadRef, replicas int32, timeout time.Duration) (original int32, err error) {
	if original, err = setScale(ctx, kube, ref, replicas); err != nil {
		return original, err
	}
	return original, waitReady(ctx, kube, ref, replicas, timeout)
}

// currentReplicas reads the workload's desired replica count from its scale
// subresource.
func currentReplicas(ctx context.Context, kube kubernetes.Interface, ref workloadRef) (int32, error) {
	sc, err := scaleClientOf(kube, ref)
	if err != nil {
		return 0, err
	}
	s, err := sc.GetScale(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return 0, scaleError(ref, err)
	}
	return s.Spec.Replicas, nil
}

// setScale sets the workload's desired replicas, unless it already has
// them, and returns the count it had. It does not wait.
func setScale(ctx context.Context, kube kubernetes.Interface, ref workloadRef, replicas int32) (original int32, err error) {
	sc, err := scaleClientOf(kube, ref)
	if err != nil {
		return 0, err
	}
	// A conflict means someone else scaled in between: read again.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := sc.GetScale(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		original = s.Spec.Replicas
		if original == replicas {
			return nil
		}
		s.Spec.Replicas = replicas
		_, err = sc.UpdateScale(ctx, ref.Name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return original, scaleError(ref, err)
	}
	return original, nil
}

func scaleError(ref workloadRef, err error) error {
	if apierrors.IsNotFound(err) {
		return function.Permanent(fmt.Errorf("%s not found", ref))
	}
	return fmt.Errorf("scale %s: %w", ref, err)
}

// scaleClient is the scale subresource of one workload kind.
type scaleClient interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, s *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

func scaleClientOf(kube kubernetes.Interface, ref workloadRef) (scaleClient, error) {
	if err := ref.check(); err != nil {
		return nil, err
	}
	if ref.Kind == kindDeployment {
		return kube.AppsV1().Deployments(ref.Namespace), nil
	}
	return kube.AppsV1().StatefulSets(ref.Namespace), nil
}

// waitReady waits, for at most timeout, until the workload's controller
// has seen its latest spec (status.observedGeneration >= generation) and
// exactly replicas pods are ready; at 0, until no pods are left at all
// (status.replicas == 0), so volumes are released.
func waitReady(ctx context.Context, kube kubernetes.Interface, ref workloadRef, replicas int32, timeout time.Duration) error {
	if err := ref.check(); err != nil {
		return err
	}
	lw, objType := workloadListWatch(kube, ref)
	var last *rollout
	err := untilNamed(ctx, timeout, lw, objType, ref.Name, func(obj runtime.Object) (bool, error) {
		if obj == nil {
			return false, function.Permanent(fmt.Errorf("%s was deleted", ref))
		}
		r := rolloutOf(obj)
		last = &r
		return r.readyAt(replicas), nil
	})
	if errors.Is(err, errTimedOut) {
		seen := "it was never seen"
		if last != nil {
			seen = last.String()
		}
		return fmt.Errorf("%s not ready at %d replicas within %s: %s", ref, replicas, timeout, seen)
	}
	if err != nil {
		return fmt.Errorf("wait for %s: %w", ref, err)
	}
	return nil
}

func workloadListWatch(kube kubernetes.Interface, ref workloadRef) (lw cache.ListerWatcher, objType runtime.Object) {
	if ref.Kind == kindDeployment {
		c := kube.AppsV1().Deployments(ref.Namespace)
		return namedListWatch(kube, ref.Name,
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) },
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return c.Watch(ctx, o) },
		), &appsv1.Deployment{}
	}
	c := kube.AppsV1().StatefulSets(ref.Namespace)
	return namedListWatch(kube, ref.Name,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return c.Watch(ctx, o) },
	), &appsv1.StatefulSet{}
}

// rollout is the part of a workload's state that readiness depends on.
type rollout struct {
	generation, observedGeneration int64
	replicas, readyReplicas        int32 // from status
}

func rolloutOf(obj runtime.Object) rollout {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return rollout{o.Generation, o.Status.ObservedGeneration, o.Status.Replicas, o.Status.ReadyReplicas}
	case *appsv1.StatefulSet:
		return rollout{o.Generation, o.Status.ObservedGeneration, o.Status.Replicas, o.Status.ReadyReplicas}
	}
	return rollout{}
}

func (r rollout) readyAt(n int32) bool {
	return r.observedGeneration >= r.generation && r.readyReplicas == n && (n != 0 || r.replicas == 0)
}

func (r rollout) String() string {
	return fmt.Sprintf("%d of %d pods ready, observed generation %d of %d",
		r.readyReplicas, r.replicas, r.observedGeneration, r.generation)
}
