package celenv

import "time"

// The CEL variables every expression may read. Go structs below are their
// single definition: the CEL object types are derived from them (ObjectsOf),
// and values are converted from them at run time (Value).
const (
	VarObject    = "object"    // the target as the API returns it (dyn)
	VarWorkload  = "workload"  // Workload
	VarParams    = "params"    // the blueprint's declared params, typed
	VarPhases    = "phases"    // outputs of earlier phases: phases.<phase>.<output>
	VarArtifacts = "artifacts" // the input restore point: map(string, dyn)
	VarLocation  = "location"  // Location, without secret values
	VarAction    = "action"    // Action
)

// TypePrefix qualifies every snapflow CEL object type.
const TypePrefix = "snapflow."

// Workload is the target, normalized across kinds (Deployment, StatefulSet,
// DeploymentConfig, Pod, ...).
type Workload struct {
	Kind      string `json:"kind" doc:"kind of the target, e.g. Deployment"`
	Name      string `json:"name" doc:"name of the target"`
	Namespace string `json:"namespace" doc:"namespace of the target"`
	Replicas  int64  `json:"replicas" doc:"desired replicas (1 for a Pod)"`
	Pods      []Pod  `json:"pods" doc:"the workload's pods, running ones first"`
	PVCs      []PVC  `json:"pvcs" doc:"the persistent volume claims the pods mount"`
}

// Pod is one pod of a workload.
type Pod struct {
	Name       string      `json:"name" doc:"pod name"`
	Node       string      `json:"node" doc:"node the pod runs on, empty if unscheduled"`
	Phase      string      `json:"phase" doc:"pod phase: Pending, Running, ..."`
	Containers []Container `json:"containers" doc:"the pod's containers"`
}

// Container is one container of a pod.
type Container struct {
	Name  string `json:"name" doc:"container name"`
	Image string `json:"image" doc:"container image"`
}

// PVC is one persistent volume claim of a workload.
type PVC struct {
	Name         string   `json:"name" doc:"claim name"`
	Namespace    string   `json:"namespace" doc:"claim namespace"`
	StorageClass string   `json:"storageClass" doc:"storage class name, empty if none"`
	Size         string   `json:"size" doc:"requested size as a quantity, e.g. 10Gi"`
	AccessModes  []string `json:"accessModes" doc:"e.g. ReadWriteOnce"`
	VolumeMode   string   `json:"volumeMode" doc:"Filesystem or Block"`
}

// Location is where exports go; it never carries secret values.
type Location struct {
	Name      string `json:"name" doc:"Location object name"`
	Type      string `json:"type" doc:"azure, s3 or filesystem"`
	Endpoint  string `json:"endpoint" doc:"service endpoint URL"`
	Container string `json:"container" doc:"Azure container"`
	Bucket    string `json:"bucket" doc:"S3 bucket"`
	Path      string `json:"path" doc:"filesystem path"`
	Prefix    string `json:"prefix" doc:"prefix inside the container, bucket or path"`
	Region    string `json:"region" doc:"region of the storage"`
}

// Action describes the run.
type Action struct {
	Name      string    `json:"name" doc:"action name, e.g. backup"`
	Blueprint string    `json:"blueprint" doc:"Blueprint name"`
	ActionSet string    `json:"actionSet" doc:"ActionSet name"`
	Namespace string    `json:"namespace" doc:"ActionSet namespace"`
	UID       string    `json:"uid" doc:"ActionSet UID"`
	StartTime time.Time `json:"startTime" doc:"when the action started"`
}
