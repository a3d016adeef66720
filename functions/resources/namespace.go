package resources

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// notApplication are namespaced kinds that are never the application's
// to restore: records of what happened, objects the cluster derives from
// others, snapshots (the volumes' restore makes claims from them), and
// snapflow's own (restoring an ActionSet would run it again).
var notApplication = map[schema.GroupKind]bool{
	{Kind: "Event"}:                                                   true,
	{Group: "events.k8s.io", Kind: "Event"}:                           true,
	{Kind: "Endpoints"}:                                               true,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:                true,
	{Group: "apps", Kind: "ControllerRevision"}:                       true,
	{Group: "authorization.k8s.io", Kind: "LocalSubjectAccessReview"}: true,
	{Group: "metrics.k8s.io", Kind: "PodMetrics"}:                     true,
}

// notApplicationGroups are API groups never captured whole.
var notApplicationGroups = []string{"snapflow.dev", "snapshot.storage.k8s.io", "groupsnapshot.storage.k8s.io"}

// namespaceObjects are every object of the namespace that is the
// application's: what can be listed, less notApplication and objects
// with a controller, which that controller makes again.
func (c Capturer) namespaceObjects(ctx context.Context, s Scope) ([]*unstructured.Unstructured, error) {
	if c.Discovery == nil {
		return nil, fmt.Errorf("capturing a whole namespace needs the discovery client")
	}
	lists, err := c.Discovery.ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover the namespaced kinds: %w", err)
	}
	var out []*unstructured.Unstructured
	for _, gk := range listableKinds(lists) {
		if !s.keepsKind(gk) {
			continue // don't list what would be dropped, nor need its rights
		}
		all, err := c.list(ctx, gk, s.Namespace)
		if err != nil {
			return nil, err
		}
		for i := range all {
			if metav1.GetControllerOf(&all[i]) == nil {
				out = append(out, &all[i])
			}
		}
	}
	return dropClusterMade(out), nil
}

// listableKinds are the group-kinds of lists that may be listed and
// created, less what is not the application's.
func listableKinds(lists []*metav1.APIResourceList) []schema.GroupKind {
	var out []schema.GroupKind
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil || slices.Contains(notApplicationGroups, gv.Group) {
			continue
		}
		for _, r := range l.APIResources {
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			verbs := r.Verbs
			if notApplication[gk] || !slices.Contains(verbs, "list") || !slices.Contains(verbs, "create") || slices.Contains(out, gk) {
				continue
			}
			out = append(out, gk)
		}
	}
	return out
}

func fromUnstructured(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
}
