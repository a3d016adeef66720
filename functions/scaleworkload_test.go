package functions

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
)

// fakeScaleCluster is a fake clientset that serves the scale subresource
// of Deployments and StatefulSets, as the API server does: reading
// spec.replicas, and writing it with a new generation. Nothing updates
// status; tests do, playing the workload controller.
func fakeScaleCluster(objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	for _, resource := range []string{"deployments", "statefulsets"} {
		gvr := appsv1.SchemeGroupVersion.WithResource(resource)
		cs.PrependReactor("get", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() != "scale" {
				return false, nil, nil
			}
			obj, err := cs.Tracker().Get(gvr, a.GetNamespace(), a.(k8stesting.GetAction).GetName())
			if err != nil {
				return true, nil, err
			}
			spec, _ := replicasOf(obj)
			return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: a.(k8stesting.GetAction).GetName()},
				Spec: autoscalingv1.ScaleSpec{Replicas: spec}}, nil
		})
		cs.PrependReactor("update", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() != "scale" {
				return false, nil, nil
			}
			s := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
			obj, err := cs.Tracker().Get(gvr, a.GetNamespace(), s.Name)
			if err != nil {
				return true, nil, err
			}
			_, set := replicasOf(obj)
			set(s.Spec.Replicas)
			return true, s, cs.Tracker().Update(gvr, obj, a.GetNamespace())
		})
	}
	return cs
}

// replicasOf reads spec.replicas and returns a setter that also bumps the
// generation.
func replicasOf(obj runtime.Object) (int32, func(int32)) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return ptr.Deref(o.Spec.Replicas, 1), func(n int32) { o.Spec.Replicas, o.Generation = &n, o.Generation+1 }
	case *appsv1.StatefulSet:
		return ptr.Deref(o.Spec.Replicas, 1), func(n int32) { o.Spec.Replicas, o.Generation = &n, o.Generation+1 }
	}
	panic("not a workload")
}

func readyDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Generation: 1},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status:     appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, ReadyReplicas: replicas},
	}
}

// rolloutFakeWorkload plays the workload controller: once spec.replicas is
// want, it reports the new generation observed and want pods, all ready.
func rolloutFakeWorkload(cs *fake.Clientset, kind, name string, want int32) <-chan error {
	done := make(chan error, 1)
	apps := cs.AppsV1()
	go func() {
		done <- wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true,
			func(ctx context.Context) (bool, error) {
				if kind == kindDeployment {
					d, err := apps.Deployments("shop").Get(ctx, name, metav1.GetOptions{})
					if err != nil || *d.Spec.Replicas != want {
						return false, err
					}
					d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, ReadyReplicas: want}
					_, err = apps.Deployments("shop").UpdateStatus(ctx, d, metav1.UpdateOptions{})
					return err == nil, err
				}
				s, err := apps.StatefulSets("shop").Get(ctx, name, metav1.GetOptions{})
				if err != nil || *s.Spec.Replicas != want {
					return false, err
				}
				s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: want, ReadyReplicas: want}
				_, err = apps.StatefulSets("shop").UpdateStatus(ctx, s, metav1.UpdateOptions{})
				return err == nil, err
			})
	}()
	return done
}

func scaleArgs(extra map[string]any) map[string]any {
	args := map[string]any{"namespace": "shop", "kind": "Deployment", "name": "web", "replicas": int64(0), "wait": true, "timeout": "5m"}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func TestScaleWorkloadFakeWaitsUntilReady(t *testing.T) {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db", Generation: 4},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](0)},
		Status:     appsv1.StatefulSetStatus{ObservedGeneration: 4},
	}
	cases := []struct {
		name             string
		obj              runtime.Object
		kind, workload   string
		replicas, before int64
	}{
		{"deployment down to 0", readyDeployment("web", 3), kindDeployment, "web", 0, 3},
		{"statefulset up from 0", sts, kindStatefulSet, "db", 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := fakeScaleCluster(tc.obj)
			rt, rec := clusterRuntime(function.Clients{Kube: cs})
			ready := rolloutFakeWorkload(cs, tc.kind, tc.workload, int32(tc.replicas))
			out, err := ScaleWorkload().Invoke(context.Background(), rt,
				scaleArgs(map[string]any{"kind": tc.kind, "name": tc.workload, "replicas": tc.replicas}))
			if err != nil {
				t.Fatal(err)
			}
			if err := <-ready; err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"originalReplicas": strconv.FormatInt(tc.before, 10), "replicas": strconv.FormatInt(tc.replicas, 10)}
			if d := cmp.Diff(stringNumbers(out), want); d != "" {
				t.Errorf("outputs (-got +want):\n%s", d)
			}
			wantMsg := "scaled " + tc.kind + " shop/" + tc.workload + " from " + strconv.FormatInt(tc.before, 10) + " to " + strconv.FormatInt(tc.replicas, 10)
			if got := rec.messages[len(rec.messages)-1]; got != wantMsg {
				t.Errorf("message = %q, want %q", got, wantMsg)
			}
		})
	}
}

// TestScaleWorkloadFakeResumeAtTarget: a re-run finds the workload already
// at the count and ready; it does not scale again.
func TestScaleWorkloadFakeResumeAtTarget(t *testing.T) {
	cs := fakeScaleCluster(readyDeployment("web", 2))
	rt, _ := clusterRuntime(function.Clients{Kube: cs})
	out, err := ScaleWorkload().Invoke(context.Background(), rt, scaleArgs(map[string]any{"replicas": int64(2)}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(stringNumbers(out), map[string]any{"originalReplicas": "2", "replicas": "2"}); d != "" {
		t.Errorf("outputs (-got +want):\n%s", d)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "update" {
			t.Errorf("unexpected %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
		}
	}
}

func TestScaleWorkloadFakeNoWait(t *testing.T) {
	cs := fakeScaleCluster(readyDeployment("web", 3))
	rt, _ := clusterRuntime(function.Clients{Kube: cs})
	out, err := ScaleWorkload().Invoke(context.Background(), rt, scaleArgs(map[string]any{"replicas": int64(5), "wait": false}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(stringNumbers(out), map[string]any{"originalReplicas": "3", "replicas": "5"}); d != "" {
		t.Errorf("outputs (-got +want):\n%s", d)
	}
	d, err := cs.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 5 {
		t.Errorf("deployment replicas = %v (err %v), want 5", d.Spec.Replicas, err)
	}
}

func TestScaleWorkloadFakeTimeout(t *testing.T) {
	cs := fakeScaleCluster(readyDeployment("web", 3))
	rt, _ := clusterRuntime(function.Clients{Kube: cs})
	_, err := ScaleWorkload().Invoke(context.Background(), rt, scaleArgs(map[string]any{"timeout": "200ms"}))
	want := "Deployment shop/web not ready at 0 replicas within 200ms: 3 of 3 pods ready, observed generation 1 of 2"
	if err == nil || err.Error() != want || function.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable %q", err, want)
	}
}

func TestScaleWorkloadFakeBadArgs(t *testing.T) {
	cases := map[string]struct {
		args map[string]any
		want string
	}{
		"kind":      {map[string]any{"kind": "DaemonSet"}, `kind "DaemonSet" cannot be scaled: use Deployment or StatefulSet`},
		"replicas":  {map[string]any{"replicas": int64(-1)}, "replicas must be between 0 and 2147483647, got -1"},
		"name":      {map[string]any{"name": ""}, "namespace and name must not be empty"},
		"timeout":   {map[string]any{"timeout": "0s"}, "timeout must be positive, got 0s"},
		"not found": {map[string]any{"name": "gone"}, "Deployment shop/gone not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt, _ := clusterRuntime(function.Clients{Kube: fakeScaleCluster(readyDeployment("web", 1))})
			_, err := ScaleWorkload().Invoke(context.Background(), rt, scaleArgs(tc.args))
			if !function.IsPermanent(err) || err.Error() != tc.want {
				t.Fatalf("err = %v, want permanent %q", err, tc.want)
			}
		})
	}
}

func TestScaleWorkloadFakeMissingClients(t *testing.T) {
	rt, _ := clusterRuntime(function.Clients{})
	_, err := ScaleWorkload().Invoke(context.Background(), rt, scaleArgs(nil))
	if !function.IsPermanent(err) || !strings.Contains(err.Error(), "no cluster clients") {
		t.Fatalf("err = %v", err)
	}
}

func TestRolloutReadyAt(t *testing.T) {
	cases := []struct {
		name string
		r    rollout
		n    int32
		want bool
	}{
		{"ready", rollout{generation: 2, observedGeneration: 2, replicas: 3, readyReplicas: 3}, 3, true},
		{"spec not yet observed", rollout{generation: 3, observedGeneration: 2, replicas: 3, readyReplicas: 3}, 3, false},
		{"too few ready", rollout{generation: 2, observedGeneration: 2, replicas: 3, readyReplicas: 2}, 3, false},
		{"at 0 with pods left", rollout{generation: 2, observedGeneration: 2, replicas: 1, readyReplicas: 0}, 0, false},
		{"at 0 and gone", rollout{generation: 2, observedGeneration: 2}, 0, true},
	}
	for _, tc := range cases {
		if got := tc.r.readyAt(tc.n); got != tc.want {
			t.Errorf("%s: readyAt(%d) = %v, want %v", tc.name, tc.n, got, tc.want)
		}
	}
}
