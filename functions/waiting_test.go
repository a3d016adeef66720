package functions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func pendingClaim(name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

// TestUntilAllNamed steps the claims on only once the wait has seen each
// state, so the states it sees are exactly these: every awaited name, nil
// for one absent or deleted, never another claim.
func TestUntilAllNamed(t *testing.T) {
	kube := kubefake.NewClientset(pendingClaim("a"), pendingClaim("b"), pendingClaim("other"))
	names := []string{"a", "b", "never"}
	state := func(pvcs map[string]*corev1.PersistentVolumeClaim) string {
		var parts []string
		for _, n := range slices.Sorted(maps.Keys(pvcs)) {
			phase := "nil"
			if p := pvcs[n]; p != nil {
				phase = string(p.Status.Phase)
			}
			parts = append(parts, n+"="+phase)
		}
		return fmt.Sprint(parts)
	}
	const (
		start    = "[a=Pending b=Pending never=nil]"
		bound    = "[a=Bound b=Pending never=nil]"
		final    = "[a=Bound b=nil never=nil]"
		patience = 30 * time.Second // runs out only if the wait is broken
	)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	seen := make(chan string, 100)
	driven := make(chan []string, 1)
	go func() { // the cluster, one step per state seen
		var got []string
		defer func() { driven <- got }()
		await := func(want string) bool {
			for {
				select {
				case s, ok := <-seen:
					if !ok {
						return false
					}
					got = append(got, s)
					if s == want {
						return true
					}
				case <-ctx.Done():
					return false
				}
			}
		}
		pvcs := kube.CoreV1().PersistentVolumeClaims(testNS)
		if !await(start) {
			return
		}
		a := pendingClaim("a")
		a.Status.Phase = corev1.ClaimBound
		if _, err := pvcs.UpdateStatus(ctx, a, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
		if !await(bound) {
			return
		}
		if err := pvcs.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
		await(final)
	}()
	err := untilAllNamed(ctx, claimsListWatch(kube, testNS, names), &corev1.PersistentVolumeClaim{}, names,
		func(pvcs map[string]*corev1.PersistentVolumeClaim) (bool, error) {
			s := state(pvcs)
			select {
			case seen <- s:
			case <-ctx.Done():
			}
			return s == final, nil
		})
	close(seen) // the wait has ended: the driver reads what it sent, then stops
	got := slices.Compact(<-driven)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{start, bound, final}); diff != "" {
		t.Errorf("states seen (-got +want):\n%s", diff)
	}
}

// TestUntilAllEnds: the condition's error ends the wait as it is, and the
// end of ctx ends it with ctx's cause.
func TestUntilAllEnds(t *testing.T) {
	errCond, errStop := errors.New("no good"), errors.New("stopped")
	stopped, stop := context.WithCancelCause(t.Context())
	stop(errStop)
	for _, tc := range []struct {
		name string
		ctx  context.Context
		cond func(map[string]*corev1.PersistentVolumeClaim) (bool, error)
		want error
	}{
		{name: "condition fails", ctx: t.Context(),
			cond: func(map[string]*corev1.PersistentVolumeClaim) (bool, error) { return false, errCond }, want: errCond},
		{name: "ctx ends", ctx: stopped,
			cond: func(map[string]*corev1.PersistentVolumeClaim) (bool, error) { return false, nil }, want: errStop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset(pendingClaim("a"))
			names := []string{"a"}
			err := untilAllNamed(tc.ctx, claimsListWatch(kube, testNS, names), &corev1.PersistentVolumeClaim{}, names, tc.cond)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
