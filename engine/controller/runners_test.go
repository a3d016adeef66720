package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestRunners(t *testing.T) {
	rs := NewRunners(1)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() { _ = rs.Start(ctx) }()
	a := &v1alpha1.ActionSet{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: types.UID("a")}}
	b := &v1alpha1.ActionSet{ObjectMeta: metav1.ObjectMeta{Name: "b", UID: types.UID("b")}}
	aRuns := make(chan struct{})
	block := func(ctx context.Context) error { close(aRuns); <-ctx.Done(); return nil }
	err := wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		started, _ := rs.Launch(a, false, block) // refused until Start ran
		return started, nil
	})
	if err != nil {
		t.Fatalf("launch a: %v", err)
	}
	if started, err := rs.Launch(a, false, block); started || err != nil {
		t.Errorf("second launch of a: started %v, err %v; want one run per ActionSet", started, err)
	}
	<-aRuns
	ranB := make(chan struct{})
	if started, err := rs.Launch(b, false, func(context.Context) error { close(ranB); return nil }); !started || err != nil {
		t.Fatalf("launch b: started %v, err %v", started, err)
	}
	select {
	case <-ranB:
		t.Fatal("b ran while a held the only slot")
	case <-time.After(50 * time.Millisecond):
	}
	if !rs.Running("a") || !rs.Running("b") {
		t.Error("a and b should both count as running")
	}
	if !rs.Cancel("a") {
		t.Error("cancel a: no run")
	}
	<-ranB
	for range 2 {
		select {
		case <-rs.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a finished run was not enqueued")
		}
	}
	if rs.Running("a") || rs.Running("b") || rs.Cancel("a") {
		t.Error("finished runs are still tracked")
	}
	stop()
	rs.Wait()
	err = wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return rs.Stopping(), nil
	})
	if err != nil {
		t.Fatal("runners did not stop")
	}
	if _, err := rs.Launch(a, false, func(context.Context) error { return nil }); err == nil {
		t.Error("launch after stop succeeded")
	}
}
