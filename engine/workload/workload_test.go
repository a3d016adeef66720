package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/engine/celenv"
)

func object(t *testing.T, src string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(src), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestFromObject(t *testing.T) {
	noModes := []string{}
	cases := []struct {
		name string
		obj  string
		want celenv.Workload
	}{{
		name: "Pod",
		obj: `
kind: Pod
metadata: {name: db-0, namespace: shop}
spec:
  nodeName: node-1
  containers: [{name: db, image: postgres:17}, {name: exporter, image: exporter:1}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data-db-0}}
  - {name: tmp, emptyDir: {}}
status: {phase: Running}`,
		want: celenv.Workload{Kind: "Pod", Name: "db-0", Namespace: "shop", Replicas: 1,
			Pods: []celenv.Pod{{Name: "db-0", Node: "node-1", Phase: "Running", Containers: []celenv.Container{
				{Name: "db", Image: "postgres:17"}, {Name: "exporter", Image: "exporter:1"}}}},
			PVCs: []celenv.PVC{{Name: "data-db-0", Namespace: "shop", AccessModes: noModes}}},
	}, {
		name: "Deployment with a claim and the default namespace",
		obj: `
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: web, image: nginx}]
      volumes:
      - {name: a, persistentVolumeClaim: {claimName: uploads}}
      - {name: b, persistentVolumeClaim: {claimName: uploads}}`,
		want: celenv.Workload{Kind: "Deployment", Name: "web", Namespace: "default", Replicas: 3,
			Pods: []celenv.Pod{}, PVCs: []celenv.PVC{{Name: "uploads", Namespace: "default", AccessModes: noModes}}},
	}, {
		name: "Deployment without replicas",
		obj:  `{kind: Deployment, metadata: {name: web, namespace: shop}, spec: {template: {spec: {containers: [{name: web}]}}}}`,
		want: celenv.Workload{Kind: "Deployment", Name: "web", Namespace: "shop", Replicas: 1,
			Pods: []celenv.Pod{}, PVCs: []celenv.PVC{}},
	}, {
		name: "StatefulSet",
		obj: `
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: db, image: postgres:17}]
      volumes: [{name: shared, persistentVolumeClaim: {claimName: backups}}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: fast
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Gi}}
  - metadata: {name: wal}
    spec:
      accessModes: [ReadWriteOnce]
      volumeMode: Block
      resources: {requests: {storage: 1073741824}}`,
		want: celenv.Workload{Kind: "StatefulSet", Name: "db", Namespace: "shop", Replicas: 2, Pods: []celenv.Pod{},
			PVCs: []celenv.PVC{
				{Name: "backups", Namespace: "shop", AccessModes: noModes},
				{Name: "data-db-0", Namespace: "shop", StorageClass: "fast", Size: "10Gi", AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Filesystem"},
				{Name: "wal-db-0", Namespace: "shop", Size: "1073741824", AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Block"},
				{Name: "data-db-1", Namespace: "shop", StorageClass: "fast", Size: "10Gi", AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Filesystem"},
				{Name: "wal-db-1", Namespace: "shop", Size: "1073741824", AccessModes: []string{"ReadWriteOnce"}, VolumeMode: "Block"},
			}},
	}, {
		name: "StatefulSet scaled to zero",
		obj: `{kind: StatefulSet, metadata: {name: db}, spec: {replicas: 0,
  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]}}`,
		want: celenv.Workload{Kind: "StatefulSet", Name: "db", Namespace: "default", Pods: []celenv.Pod{}, PVCs: []celenv.PVC{}},
	}, {
		name: "ReplicaSet",
		obj:  `{kind: ReplicaSet, metadata: {name: web-5d8f, namespace: shop}, spec: {replicas: 2}}`,
		want: celenv.Workload{Kind: "ReplicaSet", Name: "web-5d8f", Namespace: "shop", Replicas: 2, Pods: []celenv.Pod{}, PVCs: []celenv.PVC{}},
	}, {
		name: "DeploymentConfig",
		obj:  `{kind: DeploymentConfig, metadata: {name: legacy}, spec: {replicas: 1}}`,
		want: celenv.Workload{Kind: "DeploymentConfig", Name: "legacy", Namespace: "default", Replicas: 1, Pods: []celenv.Pod{}, PVCs: []celenv.PVC{}},
	}, {
		name: "DaemonSet has unknown replicas offline",
		obj: `{kind: DaemonSet, metadata: {name: agent, namespace: ops},
  spec: {template: {spec: {volumes: [{name: cache, persistentVolumeClaim: {claimName: cache}}]}}}}`,
		want: celenv.Workload{Kind: "DaemonSet", Name: "agent", Namespace: "ops", Pods: []celenv.Pod{},
			PVCs: []celenv.PVC{{Name: "cache", Namespace: "ops", AccessModes: noModes}}},
	}, {
		name: "Job",
		obj:  `{kind: Job, metadata: {name: migrate}, spec: {parallelism: 2, template: {spec: {containers: [{name: m}]}}}}`,
		want: celenv.Workload{Kind: "Job", Name: "migrate", Namespace: "default", Replicas: 2, Pods: []celenv.Pod{}, PVCs: []celenv.PVC{}},
	}, {
		name: "PersistentVolumeClaim",
		obj: `{kind: PersistentVolumeClaim, metadata: {name: data, namespace: shop},
  spec: {storageClassName: csi-hostpath-sc, accessModes: [ReadWriteOnce, ReadOnlyMany], resources: {requests: {storage: 5Gi}}}}`,
		want: celenv.Workload{Kind: "PersistentVolumeClaim", Name: "data", Namespace: "shop", Pods: []celenv.Pod{},
			PVCs: []celenv.PVC{{Name: "data", Namespace: "shop", StorageClass: "csi-hostpath-sc", Size: "5Gi",
				AccessModes: []string{"ReadWriteOnce", "ReadOnlyMany"}, VolumeMode: "Filesystem"}}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromObject(object(t, tc.obj))
			if err != nil {
				t.Fatalf("FromObject: %v", err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("workload (-got +want):\n%s", diff)
			}
		})
	}
}

func TestFromObjectErrors(t *testing.T) {
	cases := []struct {
		name, obj, want string
	}{{
		name: "unsupported kind",
		obj:  `{kind: Service, metadata: {name: web}}`,
		want: `unsupported kind "Service"; want one of DaemonSet, Deployment, DeploymentConfig, Job, PersistentVolumeClaim, Pod, ReplicaSet, StatefulSet`,
	}, {
		name: "no kind",
		obj:  `{metadata: {name: web}}`,
		want: `object has no kind; want one of DaemonSet, Deployment, DeploymentConfig, Job, PersistentVolumeClaim, Pod, ReplicaSet, StatefulSet`,
	}, {
		name: "no name",
		obj:  `{kind: Pod, metadata: {namespace: shop}}`,
		want: `Pod has no metadata.name`,
	}, {
		name: "metadata not an object",
		obj:  `{kind: Pod, metadata: [web]}`,
		want: `metadata: must be an object, got a list`,
	}, {
		name: "replicas not an integer",
		obj:  `{kind: Deployment, metadata: {name: web}, spec: {replicas: "3"}}`,
		want: `Deployment default/web: spec.replicas: must be an integer, got a string`,
	}, {
		name: "negative replicas",
		obj:  `{kind: StatefulSet, metadata: {name: db}, spec: {replicas: -1}}`,
		want: `StatefulSet default/db: spec.replicas: must not be negative, got -1`,
	}, {
		name: "bad claim name and container",
		obj: `{kind: Pod, metadata: {name: p}, spec: {containers: [{image: x}],
  volumes: [{name: v, persistentVolumeClaim: {claimName: 7}}]}}`,
		want: "Pod default/p: spec.containers[0].name: missing\nspec.volumes[0].persistentVolumeClaim.claimName: must be a string, got a number",
	}, {
		name: "bad template reported once",
		obj: `{kind: StatefulSet, metadata: {name: db}, spec: {replicas: 3,
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: ReadWriteOnce}}, {spec: {}}]}}`,
		want: "StatefulSet default/db: spec.volumeClaimTemplates[0].spec.accessModes: must be a list, got a string\nspec.volumeClaimTemplates[1].metadata.name: missing",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromObject(object(t, tc.obj))
			if err == nil {
				t.Fatal("FromObject succeeded; want an error")
			}
			if diff := cmp.Diff(err.Error(), tc.want); diff != "" {
				t.Errorf("error (-got +want):\n%s", diff)
			}
		})
	}
}

func TestFromObjectIntegerTypes(t *testing.T) {
	// Objects decoded by the API machinery carry int64, not float64.
	obj := map[string]any{
		"kind":     "Deployment",
		"metadata": map[string]any{"name": "web"},
		"spec":     map[string]any{"replicas": int64(4)},
	}
	got, err := FromObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if got.Replicas != 4 {
		t.Errorf("replicas = %d, want 4", got.Replicas)
	}
}
