package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"

	groupv1beta2 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1beta2"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/snapflow/snapflow/engine/function"
)

// snapshotClass is what choosing and copying needs of a VolumeSnapshotClass
// or a VolumeGroupSnapshotClass.
type snapshotClass struct {
	Name, Driver        string
	Params              map[string]string
	Policy              snapv1.DeletionPolicy
	Labels, Annotations map[string]string
}

// retainCopy reports whether c is snapflow's Retain copy of another class;
// copies are never candidates themselves.
func (c snapshotClass) retainCopy() bool {
	return c.Labels[labelManagedBy] == managedBy && c.Annotations[annotationRetainOf] != ""
}

// classAPI reads and writes one kind of snapshot class.
type classAPI struct {
	kind         string // VolumeSnapshotClass or VolumeGroupSnapshotClass
	scAnnotation string // the StorageClass annotation that names one
	list         func(ctx context.Context) ([]snapshotClass, error)
	get          func(ctx context.Context, name string) (snapshotClass, error)
	create       func(ctx context.Context, c snapshotClass) error
	// update makes the existing class c.Name match c.
	update func(ctx context.Context, c snapshotClass) error
}

func volumeSnapshotClasses(cs snapshotclient.Interface) classAPI {
	return newClassAPI("VolumeSnapshotClass", annotationSnapshotClass, cs.SnapshotV1().VolumeSnapshotClasses(),
		func(l *snapv1.VolumeSnapshotClassList) []*snapv1.VolumeSnapshotClass { return pointers(l.Items) },
		func(c *snapv1.VolumeSnapshotClass) classFields {
			return classFields{&c.ObjectMeta, &c.Driver, &c.Parameters, &c.DeletionPolicy}
		})
}

func groupSnapshotClasses(cs snapshotclient.Interface) classAPI {
	return newClassAPI("VolumeGroupSnapshotClass", annotationGroupSnapshotClass, cs.GroupsnapshotV1beta2().VolumeGroupSnapshotClasses(),
		func(l *groupv1beta2.VolumeGroupSnapshotClassList) []*groupv1beta2.VolumeGroupSnapshotClass {
			return pointers(l.Items)
		},
		func(c *groupv1beta2.VolumeGroupSnapshotClass) classFields {
			return classFields{&c.ObjectMeta, &c.Driver, &c.Parameters, &c.DeletionPolicy}
		})
}

// classClient is the part of a generated snapshot class client classAPI
// uses; T is the class type (a pointer) and L its list.
type classClient[T, L any] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, c T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, c T, opts metav1.UpdateOptions) (T, error)
}

// classFields points into one class object at what classAPI reads and
// writes.
type classFields struct {
	meta   *metav1.ObjectMeta
	driver *string
	params *map[string]string
	policy *snapv1.DeletionPolicy
}

func (f classFields) class() snapshotClass {
	return snapshotClass{f.meta.Name, *f.driver, *f.params, *f.policy, f.meta.Labels, f.meta.Annotations}
}

// set copies c's driver, parameters and deletion policy into the object.
func (f classFields) set(c snapshotClass) {
	*f.driver, *f.params, *f.policy = c.Driver, c.Params, c.Policy
}

// newClassAPI is a classAPI over one kind's generated client; fieldsOf
// points into an object of the kind.
func newClassAPI[E any, L any](kind, scAnnotation string, api classClient[*E, L], items func(L) []*E, fieldsOf func(*E) classFields) classAPI {
	return classAPI{
		kind: kind, scAnnotation: scAnnotation,
		list: func(ctx context.Context) ([]snapshotClass, error) {
			l, err := api.List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			var out []snapshotClass
			for _, c := range items(l) {
				out = append(out, fieldsOf(c).class())
			}
			return out, nil
		},
		get: func(ctx context.Context, name string) (snapshotClass, error) {
			c, err := api.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return snapshotClass{}, err
			}
			return fieldsOf(c).class(), nil
		},
		create: func(ctx context.Context, c snapshotClass) error {
			obj := new(E)
			f := fieldsOf(obj)
			f.meta.Name, f.meta.Labels, f.meta.Annotations = c.Name, c.Labels, c.Annotations
			f.set(c)
			_, err := api.Create(ctx, obj, metav1.CreateOptions{})
			return err
		},
		update: func(ctx context.Context, c snapshotClass) error {
			got, err := api.Get(ctx, c.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			fieldsOf(got).set(c)
			_, err = api.Update(ctx, got, metav1.UpdateOptions{})
			return err
		},
	}
}

// pointers returns a pointer to each element of items.
func pointers[E any](items []E) []*E {
	out := make([]*E, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// classChooser picks the snapshot class of each claim: the explicit arg,
// else its StorageClass's annotation, else the driver's one annotated
// class. It lists classes at most once per call.
type classChooser struct {
	api      classAPI
	kube     kubernetes.Interface
	explicit string
	all      []snapshotClass
	listed   bool
}

func (c *classChooser) choose(ctx context.Context, cl claim) (string, error) {
	if c.explicit != "" {
		return c.named(ctx, cl, c.explicit, "volumeSnapshotClass")
	}
	if sc := cl.storageClass(); sc != "" {
		s, err := c.kube.StorageV1().StorageClasses().Get(ctx, sc, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err): // a claim may outlive its class
		case err != nil:
			return "", fmt.Errorf("get StorageClass %s: %w", sc, err)
		case s.Annotations[c.api.scAnnotation] != "":
			name := s.Annotations[c.api.scAnnotation]
			return c.named(ctx, cl, name, fmt.Sprintf("StorageClass %s's annotation %s", sc, c.api.scAnnotation))
		}
	}
	return c.annotated(ctx, cl)
}

// named checks that the class a user named exists and fits the claim.
func (c *classChooser) named(ctx context.Context, cl claim, name, namedBy string) (string, error) {
	cls, err := c.api.get(ctx, name)
	if apierrors.IsNotFound(err) {
		return "", function.Permanent(fmt.Errorf("%s %q, named by %s, does not exist", c.api.kind, name, namedBy))
	}
	if err != nil {
		return "", fmt.Errorf("get %s %s: %w", c.api.kind, name, err)
	}
	if cls.Driver != cl.driver {
		return "", function.Permanent(fmt.Errorf("%s %q, named by %s, is for driver %q, but claim %s is on driver %q",
			c.api.kind, name, namedBy, cls.Driver, cl.String(), cl.driver))
	}
	return name, nil
}

// annotated finds the driver's one class annotated for snapflow.
func (c *classChooser) annotated(ctx context.Context, cl claim) (string, error) {
	if !c.listed {
		all, err := c.api.list(ctx)
		if err != nil {
			return "", fmt.Errorf("list %ses: %w", c.api.kind, err)
		}
		c.all, c.listed = all, true
	}
	var marked, others []string
	for _, cls := range c.all {
		switch {
		case cls.Driver != cl.driver || cls.retainCopy():
		case cls.Annotations[annotationIsSnapshotClass] == "true":
			marked = append(marked, cls.Name)
		default:
			others = append(others, cls.Name)
		}
	}
	where := fmt.Sprintf("driver %q of claim %s (StorageClass %q)", cl.driver, cl.String(), cl.storageClass())
	fix := fmt.Sprintf("annotate exactly one with %s=\"true\", name one in the StorageClass annotation %s, or pass volumeSnapshotClass",
		annotationIsSnapshotClass, c.api.scAnnotation)
	switch {
	case len(marked) == 1:
		return marked[0], nil
	case len(marked) > 1:
		return "", function.Permanent(fmt.Errorf("%d %ses are annotated %s=\"true\" for %s: %s; %s",
			len(marked), c.api.kind, annotationIsSnapshotClass, where, strings.Join(marked, ", "), fix))
	case len(others) > 0:
		return "", function.Permanent(fmt.Errorf("no %s is annotated %s=\"true\" for %s; candidates: %s; %s",
			c.api.kind, annotationIsSnapshotClass, where, strings.Join(others, ", "), fix))
	}
	return "", function.Permanent(fmt.Errorf("no %s exists for %s; create one for the driver and %s", c.api.kind, where, fix))
}

// retainClass returns a class like name whose deletionPolicy is Retain, so
// snapshots outlive their namespace: name itself if it retains, else
// snapflow's copy of it, created or adopted (and brought in line if the
// original changed since).
func retainClass(ctx context.Context, api classAPI, name string) (string, error) {
	src, err := api.get(ctx, name)
	if err != nil {
		return "", fmt.Errorf("get %s %s: %w", api.kind, name, err)
	}
	if src.Policy == snapv1.VolumeSnapshotContentRetain {
		return name, nil
	}
	want := snapshotClass{
		Name: retainName(name), Driver: src.Driver, Params: src.Params, Policy: snapv1.VolumeSnapshotContentRetain,
		Labels:      map[string]string{labelManagedBy: managedBy},
		Annotations: map[string]string{annotationRetainOf: name},
	}
	err = api.create(ctx, want)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return "", fmt.Errorf("create %s %s: %w", api.kind, want.Name, err)
		}
		return want.Name, nil
	}
	have, err := api.get(ctx, want.Name)
	if err != nil {
		return "", fmt.Errorf("get %s %s: %w", api.kind, want.Name, err)
	}
	if have.Driver == want.Driver && have.Policy == want.Policy && maps.Equal(have.Params, want.Params) {
		return want.Name, nil
	}
	if !have.retainCopy() || have.Annotations[annotationRetainOf] != name {
		return "", function.Permanent(fmt.Errorf("%s %q exists but is not snapflow's Retain copy of %q (driver %q, deletionPolicy %s); rename or delete it",
			api.kind, want.Name, name, have.Driver, have.Policy))
	}
	if err := api.update(ctx, want); err != nil {
		return "", fmt.Errorf("update %s %s to match %s: %w", api.kind, want.Name, name, err)
	}
	return want.Name, nil
}

// retainName names the Retain copy of class: "<class>-retain", shortened
// with a hash if that would exceed the 253 characters a name may have.
func retainName(class string) string {
	const suffix, maxLen = "-retain", 253
	if len(class)+len(suffix) <= maxLen {
		return class + suffix
	}
	sum := sha256.Sum256([]byte(class))
	hash := hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(class[:maxLen-len(suffix)-len(hash)-1], "-.") + "-" + hash + suffix
}

// chooseClasses picks each claim's class, durable or not, getting each
// Retain copy once.
func chooseClasses(ctx context.Context, rt *function.Runtime, api classAPI, explicit string, durable bool, claims []claim) ([]string, error) {
	ch := &classChooser{api: api, kube: rt.Clients.Kube, explicit: explicit}
	retained := map[string]string{}
	out := make([]string, len(claims))
	var errs []error
	for i, cl := range claims {
		name, err := ch.choose(ctx, cl)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if durable {
			if _, ok := retained[name]; !ok {
				if retained[name], err = retainClass(ctx, api, name); err != nil {
					return nil, err
				}
			}
			name = retained[name]
		}
		out[i] = name
	}
	// Every claim's problem at once; permanent if any is, since a retry
	// cannot fix that one.
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
