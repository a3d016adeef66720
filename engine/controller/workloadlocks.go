package controller

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// workloadLocks lets one run at a time act on a workload: two ActionSets
// quiescing one app would otherwise record each other's scale-down or
// thaw each other's freeze. The lock is in the controller's memory; leader
// election makes that controller the only one running actions.
type workloadLocks struct {
	mu   sync.Mutex
	held map[string]*workloadLock
}

type workloadLock struct {
	holder client.ObjectKey // the ActionSet running against the workload
	free   chan struct{}    // closed on release
}

// acquire takes the lock on workload for holder, calling waiting with the
// current holder each time it has to wait. It returns the release, or
// ctx's error when ctx ends first: a cancelled run still wraps up.
func (l *workloadLocks) acquire(ctx context.Context, workload string, holder client.ObjectKey, waiting func(client.ObjectKey)) (func(), error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]*workloadLock{}
		}
		cur, busy := l.held[workload]
		if !busy {
			lock := &workloadLock{holder: holder, free: make(chan struct{})}
			l.held[workload] = lock
			l.mu.Unlock()
			return func() { l.release(workload, lock) }, nil
		}
		l.mu.Unlock()
		waiting(cur.holder)
		select {
		case <-cur.free:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

func (l *workloadLocks) release(workload string, lock *workloadLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[workload] == lock {
		delete(l.held, workload)
		close(lock.free)
	}
}
