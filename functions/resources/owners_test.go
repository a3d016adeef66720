package resources

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestApplyFakeOwners(t *testing.T) {
	a, client := fakeApplier(t, "",
		"{apiVersion: v1, kind: Namespace, metadata: {name: shop}}",
		"{apiVersion: example.com/v1, kind: Gadget, metadata: {name: owner, namespace: shop, uid: u-gadget}}",
		"{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: admin, uid: u-role}}",
	)
	objs := parseObjects(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: many
  namespace: shop
  ownerReferences:
  - {apiVersion: example.com/v1, kind: Gadget, name: owner, controller: true}
  - {apiVersion: example.com/v1, kind: Gadget, name: gone}
  - {apiVersion: example.com/v1, kind: Gadget, name: kept, uid: u-kept}
  - {apiVersion: example.org/v1, kind: Unserved, name: x}
  - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: admin}
  - {apiVersion: 5, kind: Gadget, name: odd}
  - not an object
---
apiVersion: v1
kind: ConfigMap
metadata: {name: parent, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: child
  namespace: shop
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: parent}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  namespace: shop
  ownerReferences: [{apiVersion: example.com/v1, kind: Gadget, name: gone}]`)
	if _, err := a.Apply(context.Background(), objs); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]any{
		"many": {
			map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "name": "owner", "controller": true, "uid": "u-gadget"},
			map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget", "name": "kept", "uid": "u-kept"},
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "admin", "uid": "u-role"},
		},
		"child":  {map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "parent", "uid": "uid-ConfigMap-parent"}},
		"orphan": nil,
	} {
		got, _, _ := unstructured.NestedSlice(stored(t, client, configMaps, "shop", name).Object, "metadata", "ownerReferences")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("owner references of %s (-want +got):\n%s", name, diff)
		}
	}
	gets := 0
	for _, v := range verbs(client) {
		if v == "get gadgets shop/gone" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("got the missing owner %d times, want once", gets)
	}
}
