package functions

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCreateMoverPodAdoptsOrReplaces runs on a fake clientset: a running
// or succeeded mover of the same name is adopted (a resumed run follows
// it, or reads its result); a failed
// one, left by an earlier attempt, is replaced.
func TestCreateMoverPodAdoptsOrReplaces(t *testing.T) {
	mover := func(phase corev1.PodPhase, image string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "mover"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mover", Image: image}}},
			Status:     corev1.PodStatus{Phase: phase},
		}
	}
	for _, tc := range []struct {
		name      string
		old       corev1.PodPhase
		wantImage string
	}{
		{"running is adopted", corev1.PodRunning, "old"},
		{"succeeded is adopted: its log holds the result", corev1.PodSucceeded, "old"},
		{"failed is replaced", corev1.PodFailed, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFakeCluster(t, mover(tc.old, "old"))
			if err := createMoverPod(t.Context(), fc.rt, mover("", "new"), time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := fc.kube.CoreV1().Pods(testNS).Get(t.Context(), "mover", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if image := got.Spec.Containers[0].Image; image != tc.wantImage {
				t.Errorf("the mover pod runs image %q, want %q", image, tc.wantImage)
			}
		})
	}
}
