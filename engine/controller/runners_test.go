package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
	// order records a's end and b's start: with one slot, b can start only
	// after a's run has returned.
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); defer mu.Unlock(); order = append(order, s) }
	aRuns := make(chan struct{})
	block := func(ctx context.Context) error { close(aRuns); <-ctx.Done(); note("a ends"); return nil }
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
	if started, err := rs.Launch(b, false, func(context.Context) error { note("b runs"); close(ranB); return nil }); !started || err != nil {
		t.Fatalf("launch b: started %v, err %v", started, err)
	}
	if !rs.Running("a") || !rs.Running("b") {
		t.Error("a and b should both count as running")
	}
	if !rs.Cancel("a") {
		t.Error("cancel a: no run")
	}
	<-ranB
	mu.Lock()
	if diff := cmp.Diff([]string{"a ends", "b runs"}, order); diff != "" {
		t.Errorf("b ran while a held the only slot (-want +got):\n%s", diff)
	}
	mu.Unlock()
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

func TestRunRecoveredTurnsAPanicIntoTheRunsError(t *testing.T) {
	err := runRecovered(t.Context(), func(context.Context) error { panic("nil map") })
	if err == nil || err.Error() != "run panicked: nil map" {
		t.Errorf("err = %v, want the panic as the run's error", err)
	}
	if err := runRecovered(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Errorf("a run that returns: err = %v", err)
	}
}
