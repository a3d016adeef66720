package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// parseObjects parses YAML objects separated by "---".
func parseObjects(t *testing.T, src string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(src, "\n---\n") {
		obj, err := copyObject(object(t, doc)) // integers as int64, as decoded
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}

func contents(objs []*unstructured.Unstructured) []map[string]any {
	out := make([]map[string]any, len(objs))
	for i, obj := range objs {
		out[i] = obj.Object
	}
	return out
}

func TestTransform(t *testing.T) {
	for _, tc := range []struct {
		name    string
		t       Transforms
		in, out string
	}{{
		name: "namespaces",
		t:    Transforms{Namespaces: map[string]string{"shop": "shop-copy"}},
		in: `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: other}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: read}
subjects:
- {kind: ServiceAccount, name: web, namespace: shop}
- {kind: ServiceAccount, name: web, namespace: other}
- {kind: Group, name: shop}
- {kind: User, name: shop, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]`,
		out: `
apiVersion: v1
kind: Namespace
metadata: {name: shop-copy, labels: {kubernetes.io/metadata.name: shop-copy, team: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop, namespace: shop-copy}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: other}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: read}
subjects:
- {kind: ServiceAccount, name: web, namespace: shop-copy}
- {kind: ServiceAccount, name: web, namespace: other}
- {kind: Group, name: shop}
- {kind: User, name: shop, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read, namespace: shop-copy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read}
subjects: [{kind: ServiceAccount, name: web, namespace: shop-copy}]`,
	}, {
		name: "storage classes",
		t:    Transforms{StorageClasses: map[string]string{"fast": "ceph", "old": "new"}},
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {storageClassName: fast}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: legacy, namespace: shop, annotations: {volume.beta.kubernetes.io/storage-class: old}}
spec: {}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: slow, namespace: shop}
spec: {storageClassName: slow}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {storageClassName: fast}
  - metadata: {name: logs}
    spec: {}
  - odd`,
		out: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {storageClassName: ceph}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: legacy, namespace: shop, annotations: {volume.beta.kubernetes.io/storage-class: new}}
spec: {}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: slow, namespace: shop}
spec: {storageClassName: slow}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {storageClassName: ceph}
  - metadata: {name: logs}
    spec: {}
  - odd`,
	}, {
		name: "patches after mappings",
		t: Transforms{
			Namespaces: map[string]string{"shop": "copy"},
			Patches: []Patch{{
				Group: "apps", Kind: "Deployment",
				Patch: []map[string]any{{"op": "replace", "path": "/spec/replicas", "value": 2}},
			}, {
				Group: "apps", Kind: "Deployment", Name: "web",
				Patch: []map[string]any{
					{"op": "test", "path": "/metadata/namespace", "value": "copy"},
					{"op": "add", "path": "/metadata/labels", "value": map[string]any{"restored": "yes"}},
				},
			}},
		},
		in: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 5}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {replicas: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: shop}`,
		out: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: copy, labels: {restored: "yes"}}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: copy}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: copy}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := parseObjects(t, tc.in)
			before := contents(parseObjects(t, tc.in))
			got, err := Transform(in, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(contents(parseObjects(t, tc.out)), contents(got)); diff != "" {
				t.Errorf("transformed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, contents(in)); diff != "" {
				t.Errorf("Transform changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestTransformErrors(t *testing.T) {
	web := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 5}`
	replace := []map[string]any{{"op": "replace", "path": "/spec/replicas", "value": 2}}
	for _, tc := range []struct {
		name string
		t    Transforms
		in   []*unstructured.Unstructured
		want string
	}{{
		name: "bad path",
		t: Transforms{Patches: []Patch{{Group: "apps", Kind: "Deployment", Patch: replace}, {
			Group: "apps", Kind: "Deployment",
			Patch: []map[string]any{{"op": "replace", "path": "/spec/template/spec/paused", "value": true}},
		}}},
		want: "patch 1 (Deployment.apps) on Deployment.apps shop/web: replace operation does not apply: doc is missing path: /spec/template/spec/paused: missing value",
	}, {
		name: "failed test",
		t: Transforms{Patches: []Patch{{
			Group: "apps", Kind: "Deployment", Name: "web",
			Patch: []map[string]any{{"op": "test", "path": "/spec/replicas", "value": 4}},
		}}},
		want: "patch 0 (Deployment.apps/web) on Deployment.apps shop/web: testing value /spec/replicas failed: test failed",
	}, {
		name: "unknown op",
		t:    Transforms{Patches: []Patch{{Group: "apps", Kind: "Deployment", Patch: []map[string]any{{"op": "frob", "path": "/spec"}}}}},
		want: `patch 0 (Deployment.apps): invalid operation {"op":"frob","path":"/spec"}: unsupported operation`,
	}, {
		name: "missing group",
		t:    Transforms{Patches: []Patch{{Kind: "Deployment", Patch: replace}}},
		want: `patch 0 (Deployment) matches no captured object (Deployment.apps was captured: is the group "apps"?)`,
	}, {
		name: "no such name",
		t:    Transforms{Patches: []Patch{{Group: "apps", Kind: "Deployment", Name: "api", Patch: replace}}},
		want: "patch 0 (Deployment.apps/api) matches no captured object",
	}, {
		name: "not an object",
		t:    Transforms{Patches: []Patch{{Group: "apps", Kind: "Deployment", Patch: []map[string]any{{"op": "replace", "path": "", "value": []any{1}}}}}},
		want: "patch 0 (Deployment.apps) on Deployment.apps shop/web: json: cannot unmarshal array into Go value of type map[string]interface {}",
	}, {
		name: "no kind and empty namespace",
		t:    Transforms{Namespaces: map[string]string{"shop": ""}, Patches: []Patch{{Patch: replace}}},
		want: "namespace \"shop\" maps to an empty namespace\npatch 0 has no kind",
	}, {
		name: "nil object",
		in:   []*unstructured.Unstructured{nil},
		want: "object 0: no object",
	}, {
		name: "value JSON lacks",
		in:   []*unstructured.Unstructured{{Object: map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "f": func() {}}}},
		want: "object 0: copy ConfigMap/: json: unsupported type: func()",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = parseObjects(t, web)
			}
			got, err := Transform(in, tc.t)
			if err == nil {
				t.Fatalf("got %d objects, want error %q", len(got), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}
