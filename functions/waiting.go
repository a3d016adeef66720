package functions

// Waiting: watching one named object until a condition holds, and polling where a wait spans many.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// errTimedOut is what untilNamed returns, wrapped, when its timeout ends
// the wait; callers add what was awaited and what was last seen.
var errTimedOut = errors.New("timed out")

// namedListWatch lists and watches the one object called name through a
// client's list and watch calls. client is the clientset they belong to; it
// tells the informer whether the client can stream lists (fakes cannot).
func namedListWatch(client any, name string,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return watchFn(ctx, o)
		},
	}, client)
}

// untilNamed watches the object called name (list, then watch, relisting
// after errors) until cond returns true or an error, for at most timeout.
// cond sees every version of the object, and nil once it is deleted; it is
// not called while the object has never existed. When the timeout ends the
// wait, the error wraps errTimedOut; when ctx ends it, ctx's cause.
func untilNamed(ctx context.Context, timeout time.Duration, lw cache.ListerWatcher, objType runtime.Object,
	name string, cond func(obj runtime.Object) (bool, error),
) error {
	return untilNamedAfter(ctx, timeout, lw, objType, name, nil, cond)
}

// untilExisting is untilNamed for an object that exists already, such as
// a pod this call created: if the first list lacks it, it was deleted
// meanwhile, and cond sees nil at once instead of waiting for the timeout.
func untilExisting(ctx context.Context, timeout time.Duration, lw cache.ListerWatcher, objType runtime.Object,
	namespace, name string, cond func(obj runtime.Object) (bool, error),
) error {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	precondition := func(store cache.Store) (bool, error) {
		_, exists, err := store.GetByKey(key)
		if err != nil || exists {
			return false, err
		}
		return cond(nil)
	}
	return untilNamedAfter(ctx, timeout, lw, objType, name, precondition, cond)
}

func untilNamedAfter(ctx context.Context, timeout time.Duration, lw cache.ListerWatcher, objType runtime.Object,
	name string, precondition watchtools.PreconditionFunc, cond func(obj runtime.Object) (bool, error),
) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimedOut)
	defer cancel()
	_, err := watchtools.UntilWithSync(ctx, lw, objType, precondition, func(ev watch.Event) (bool, error) {
		// The server filters by name; checking again keeps fakes, which
		// ignore field selectors, honest.
		if m, err := meta.Accessor(ev.Object); err != nil || m.GetName() != name {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return cond(nil)
		}
		return cond(ev.Object)
	})
	if err != nil && (wait.Interrupted(err) || ctx.Err() != nil) {
		return context.Cause(ctx)
	}
	return err
}

// pollInterval is how often the volume functions look at objects they wait
// for: snapshots and bindings take seconds, so once a second is plenty and
// cheap for the API server.
const pollInterval = time.Second

// cutPollInterval is how often snapshot looks for the cut while the app is
// frozen: every tick of it is added to the freeze.
const cutPollInterval = 100 * time.Millisecond

// poll checks cond now and then every pollInterval until it is done, fails
// or ctx ends.
func poll(ctx context.Context, cond wait.ConditionWithContextFunc) error {
	return pollEvery(ctx, pollInterval, cond)
}

// pollEvery is poll with its own interval.
func pollEvery(ctx context.Context, every time.Duration, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextCancel(ctx, every, true, cond)
}

// joinProblems renders what is wrong, by object, in a stable order.
func joinProblems(problems map[string]string) string {
	var parts []string
	for k, v := range problems {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
