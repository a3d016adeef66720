package controller

import (
	"context"
	"errors"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestWorkloadLocksSerialiseOneWorkload(t *testing.T) {
	var l workloadLocks
	a, b := client.ObjectKey{Namespace: "sets", Name: "a"}, client.ObjectKey{Namespace: "sets", Name: "b"}
	releaseA, err := l.acquire(t.Context(), "app/Deployment/web", a, func(client.ObjectKey) { t.Error("a waited on a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	// Another workload is not held up.
	releaseOther, err := l.acquire(t.Context(), "app/Deployment/db", b, func(client.ObjectKey) { t.Error("db waited") })
	if err != nil {
		t.Fatal(err)
	}
	releaseOther()

	waitedOn := make(chan client.ObjectKey, 1)
	got := make(chan error, 1)
	go func() {
		release, err := l.acquire(t.Context(), "app/Deployment/web", b, func(h client.ObjectKey) { waitedOn <- h })
		if err == nil {
			release()
		}
		got <- err
	}()
	if h := <-waitedOn; h != a {
		t.Errorf("b waited on %v, want a", h)
	}
	select {
	case err := <-got:
		t.Fatalf("b acquired while a held the lock: %v", err)
	default: // b is blocked in acquire until a releases; nothing else frees it
	}
	releaseA()
	if err := <-got; err != nil {
		t.Fatalf("b after a released: %v", err)
	}
}

func TestWorkloadLocksWaitEndsWithTheContext(t *testing.T) {
	var l workloadLocks
	if _, err := l.acquire(t.Context(), "w", client.ObjectKey{Name: "a"}, func(client.ObjectKey) {}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("cancelled by spec.cancel")
	_, err := l.acquire(ctx, "w", client.ObjectKey{Name: "b"}, func(client.ObjectKey) { cancel(cause) })
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want the context's cause", err)
	}
}
