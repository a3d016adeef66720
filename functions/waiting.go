package functions

// Waiting: watching the objects a function waits for until a condition holds.

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
	return selectedListWatch(client, fields.OneTermEqualSelector("metadata.name", name), list, watchFn)
}

// namesListWatch lists and watches the objects called names, as
// namedListWatch does: by name when there is one, else all of them (the
// API selects no set of names), which the waits filter by name anyway.
func namesListWatch(client any, names []string,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) cache.ListerWatcher {
	if len(names) == 1 {
		return namedListWatch(client, names[0], list, watchFn)
	}
	return selectedListWatch(client, fields.Everything(), list, watchFn)
}

// selectedListWatch lists and watches the objects sel selects.
func selectedListWatch(client any, sel fields.Selector,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
) cache.ListerWatcher {
	selector := ""
	if !sel.Empty() {
		selector = sel.String()
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
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
	return interrupted(ctx, err)
}

// kubeObject is an API object as the typed clients return it.
type kubeObject interface {
	runtime.Object
	metav1.Object
}

// untilAllNamed waits until cond holds for the objects called names, which
// lw lists and watches. cond sees every name: the latest version of its
// object, or nil while there is none (never created, or deleted). It is
// called once the first list is in and again after every event about one
// of names. When ctx ends the wait, the error is ctx's cause.
func untilAllNamed[T kubeObject](ctx context.Context, lw cache.ListerWatcher, objType T,
	names []string, cond func(objs map[string]T) (bool, error),
) error {
	awaited := func(obj T) bool { return slices.Contains(names, obj.GetName()) }
	return untilAll(ctx, lw, objType, awaited, func(objs map[string]T) (bool, error) {
		for _, n := range names {
			if _, ok := objs[n]; !ok {
				var none T
				objs[n] = none
			}
		}
		return cond(objs)
	})
}

// untilAll waits until cond holds for the objects of lw that awaited picks.
// It lists and then watches (relisting after errors, as an informer does);
// cond sees the latest version of each picked object, by name, once the
// first list is in and again after every event about a picked object; the
// objects are the informer's, not to be changed. When ctx ends the wait,
// the error is ctx's cause.
func untilAll[T kubeObject](ctx context.Context, lw cache.ListerWatcher, objType T,
	awaited func(T) bool, cond func(objs map[string]T) (bool, error),
) error {
	var store cache.Store // the informer's, always as new as the last event
	check := func() (bool, error) {
		objs := map[string]T{}
		for _, o := range store.List() {
			if obj, ok := o.(T); ok && awaited(obj) {
				objs[obj.GetName()] = obj
			}
		}
		return cond(objs)
	}
	synced := func(s cache.Store) (bool, error) {
		store = s
		return check()
	}
	_, err := watchtools.UntilWithSync(ctx, lw, objType, synced, func(ev watch.Event) (bool, error) {
		if obj, ok := ev.Object.(T); !ok || !awaited(obj) {
			return false, nil
		}
		return check()
	})
	return interrupted(ctx, err)
}

// interrupted is err, or ctx's cause if ctx ended the wait.
func interrupted(ctx context.Context, err error) error {
	if err != nil && (wait.Interrupted(err) || ctx.Err() != nil) {
		return context.Cause(ctx)
	}
	return err
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
