package resources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func object(t *testing.T, src string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestClean(t *testing.T) {
	captured := map[Ref]bool{{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}: true}
	for _, tc := range []struct{ name, in, want string }{{
		name: "service",
		in: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  uid: 5e0c
  resourceVersion: "812"
  creationTimestamp: "2026-12-07T10:00:00Z"
  managedFields: [{manager: kubectl}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: payments}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: 11}
  - {apiVersion: example.com/v1, kind: Gadget, name: other, uid: 12}
spec: {clusterIP: 10.0.0.7, clusterIPs: [10.0.0.7], ports: [{port: 80}], selector: {app: web}}
status: {loadBalancer: {}}
`,
		want: `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {team: payments}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web}
spec: {ports: [{port: 80}], selector: {app: web}}
`,
	}, {
		name: "claim",
		in: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
  annotations: {pv.kubernetes.io/bind-completed: "yes", volume.kubernetes.io/storage-provisioner: csi.example.com}
  finalizers: [kubernetes.io/pvc-protection]
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: fast, volumeName: pvc-1}
status: {phase: Bound}
`,
		want: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
  finalizers: [kubernetes.io/pvc-protection]
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: fast}
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := object(t, tc.in)
			before := in.DeepCopy()
			got := Clean(in, captured)
			if diff := cmp.Diff(object(t, tc.want).Object, got.Object); diff != "" {
				t.Errorf("cleaned (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.Object, in.Object); diff != "" {
				t.Errorf("Clean changed its input (-before +after):\n%s", diff)
			}
		})
	}
}
