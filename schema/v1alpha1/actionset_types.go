package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ActionSet asks the engine to run one action of one blueprint against one
// workload. The controller records state, per-phase checkpoints, progress and
// the resulting restore point in its status.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=as,categories=snapflow
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.currentPhase`
// +kubebuilder:printcolumn:name="Progress",type=integer,JSONPath=`.status.progress.percent`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ActionSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which action of which blueprint to run, against what.
	Spec ActionSetSpec `json:"spec"`
	// Status is written by the controller: state, checkpoints, progress and
	// the output restore point.
	// +optional
	Status ActionSetStatus `json:"status,omitempty"`
}

// ActionSetSpec says which action of which blueprint to run, against what.
// Only cancel (and params, which CEL cannot see into; a run keeps those it
// started with in its status) may change once it is created: a run, and a
// run resumed after a crash, must do what was asked when it started.
//
// +kubebuilder:validation:XValidation:rule="self.blueprint == oldSelf.blueprint && self.action == oldSelf.action && self.object == oldSelf.object",message="spec.blueprint, spec.action and spec.object cannot change; create another ActionSet"
// +kubebuilder:validation:XValidation:rule="has(self.location) == has(oldSelf.location) && (!has(self.location) || self.location == oldSelf.location)",message="spec.location cannot change; create another ActionSet"
// +kubebuilder:validation:XValidation:rule="has(self.serviceAccountName) == has(oldSelf.serviceAccountName) && (!has(self.serviceAccountName) || self.serviceAccountName == oldSelf.serviceAccountName)",message="spec.serviceAccountName cannot change; create another ActionSet"
// +kubebuilder:validation:XValidation:rule="has(self.artifacts) == has(oldSelf.artifacts) && (!has(self.artifacts) || self.artifacts == oldSelf.artifacts)",message="spec.artifacts cannot change; create another ActionSet"
type ActionSetSpec struct {
	// Blueprint is the blueprint that defines the action.
	Blueprint BlueprintReference `json:"blueprint"`
	// Action is the name of the blueprint action to run (backup, restore, ...).
	// +kubebuilder:validation:MinLength=1
	Action string `json:"action"`
	// Object is the target workload; expressions read it as object and,
	// normalized, as workload.
	Object ObjectReference `json:"object"`
	// Location is the Location, in the ActionSet's namespace, that the action
	// reads from or writes to; expressions read it as location.
	// +optional
	Location *LocalObjectReference `json:"location,omitempty"`
	// Params set the blueprint's declared params by name. Values are typed
	// JSON; the compiler checks each against the param's declared type.
	// +optional
	Params map[string]apiextensionsv1.JSON `json:"params,omitempty"`
	// Artifacts is the input restore point (for restore, delete, ...);
	// expressions read it as artifacts.
	// +optional
	Artifacts *ArtifactsSource `json:"artifacts,omitempty"`
	// ServiceAccountName is the ServiceAccount, in the ActionSet's
	// namespace, that the run acts as: every call its functions make to
	// the cluster (reads, creates, exec, the mover and task pods) is made
	// impersonating it, so an ActionSet can do only what this account may.
	// Empty means the controller's --default-service-account
	// (snapflow-runner unless its operator chose another).
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// Cancel asks the controller to stop the run; finally phases and pending
	// cleanups still run, then the state becomes Cancelled.
	// +optional
	Cancel bool `json:"cancel,omitempty"`
}

// DefaultServiceAccountName is the ServiceAccount a run acts as when
// neither the ActionSet nor the controller's --default-service-account
// names another.
const DefaultServiceAccountName = "snapflow-runner"

// BlueprintReference names a Blueprint.
type BlueprintReference struct {
	// Name of the Blueprint.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the Blueprint; empty means the ActionSet's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// ObjectReference names the workload an action runs against.
type ObjectReference struct {
	// APIVersion of the object, e.g. apps/v1; empty means the preferred
	// version of Kind's group.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the object, e.g. StatefulSet, Deployment, Namespace.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Namespace of the object; empty means the ActionSet's namespace.
	// Cluster-scoped kinds (Namespace) leave it empty.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// LocalObjectReference names an object in the ActionSet's namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ArtifactsSource gives the input restore point, either inline or taken from
// the output artifacts of an earlier ActionSet.
//
// +kubebuilder:validation:XValidation:rule="has(self.inline) != has(self.fromActionSet)",message="exactly one of inline or fromActionSet must be set"
type ArtifactsSource struct {
	// Schemaless object, not a map of JSON: the apiserver hides maps of
	// untyped values from CEL, so the exactly-one rule could not see this
	// field; an object that keeps unknown fields is visible and still takes
	// any values.

	// Inline is the restore point itself: artifact name to JSON value, as
	// found in a backup ActionSet's status.artifacts.
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Inline map[string]apiextensionsv1.JSON `json:"inline,omitempty"`
	// FromActionSet names an ActionSet in the same namespace whose
	// status.artifacts is the restore point; it must have Succeeded.
	// +kubebuilder:validation:MinLength=1
	// +optional
	FromActionSet string `json:"fromActionSet,omitempty"`
}

// ActionSetState is the overall state of a run.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Cancelled
type ActionSetState string

// The states of an ActionSet; Succeeded, Failed and Cancelled are final.
const (
	ActionSetPending   ActionSetState = "Pending"
	ActionSetRunning   ActionSetState = "Running"
	ActionSetSucceeded ActionSetState = "Succeeded"
	ActionSetFailed    ActionSetState = "Failed"
	ActionSetCancelled ActionSetState = "Cancelled"
)

// Final reports whether s is a final state: Succeeded, Failed or Cancelled.
func (s ActionSetState) Final() bool {
	switch s {
	case ActionSetSucceeded, ActionSetFailed, ActionSetCancelled:
		return true
	}
	return false
}

// Condition types set on an ActionSet, so that `kubectl wait
// --for=condition=Complete` works.
const (
	// ConditionComplete is True once the run has succeeded.
	ConditionComplete = "Complete"
	// ConditionFailed is True once the run has failed or was cancelled.
	ConditionFailed = "Failed"
)

// ActionSetStatus is the observed state of a run. Phases and PendingCleanups
// are the checkpoint a restarted controller resumes from.
type ActionSetStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// State is the overall state of the run.
	// +optional
	State ActionSetState `json:"state,omitempty"`
	// CurrentPhase is the name of the phase running now, if any.
	// +optional
	CurrentPhase string `json:"currentPhase,omitempty"`
	// Phases records each phase that has started, main then finally, in
	// order; a resumed run skips those that are finished.
	// +optional
	// +listType=atomic
	Phases []PhaseStatus `json:"phases,omitempty"`
	// PendingCleanups are cleanups that functions registered and that have
	// not run yet, kept so that a resumed run can still release them (a
	// quiesce lease, a temporary clone).
	// +optional
	// +listType=atomic
	PendingCleanups []CleanupRecord `json:"pendingCleanups,omitempty"`
	// Artifacts is the output restore point: the action's outputs, by name.
	// A restore ActionSet takes it through spec.artifacts.fromActionSet.
	// +optional
	Artifacts map[string]apiextensionsv1.JSON `json:"artifacts,omitempty"`
	// Progress of the whole run.
	// +optional
	Progress Progress `json:"progress,omitempty"`
	// StartTime is when the run started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the run reached a final state.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Message says why the run is in its state, e.g. the error that failed it.
	// +optional
	Message string `json:"message,omitempty"`
	// BlueprintGeneration is the generation of the blueprint frozen for this
	// run, so an edit during a run does not change what a resumed run does.
	// +optional
	BlueprintGeneration int64 `json:"blueprintGeneration,omitempty"`
	// BlueprintSpec is the blueprint's spec as the run started with it. A
	// resumed run compiles this, not the Blueprint's current spec, so an
	// edit or a deletion of the Blueprint during a run changes nothing in
	// it, its cleanups included.
	// +optional
	BlueprintSpec *BlueprintSpec `json:"blueprintSpec,omitempty"`
	// Params are spec.params as the run started with them; a resumed run
	// binds these, since CEL rules cannot keep spec.params from changing.
	// +optional
	Params map[string]apiextensionsv1.JSON `json:"params,omitempty"`
	// Conditions hold Complete and Failed.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PhaseStage says whether a phase belongs to an action's main phases or to
// its finally phases.
// +kubebuilder:validation:Enum=main;finally
type PhaseStage string

// The stages of a phase.
const (
	PhaseStageMain    PhaseStage = "main"
	PhaseStageFinally PhaseStage = "finally"
)

// PhaseState is the state of one phase.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped
type PhaseState string

// The states of a phase; Succeeded, Failed and Skipped are final.
const (
	PhasePending   PhaseState = "Pending"
	PhaseRunning   PhaseState = "Running"
	PhaseSucceeded PhaseState = "Succeeded"
	PhaseFailed    PhaseState = "Failed"
	PhaseSkipped   PhaseState = "Skipped"
)

// PhaseStatus is the checkpoint of one phase.
type PhaseStatus struct {
	// Name of the phase, as in the blueprint.
	Name string `json:"name"`
	// Stage says whether the phase is a main or a finally phase.
	Stage PhaseStage `json:"stage"`
	// State of the phase.
	State PhaseState `json:"state"`
	// StartTime is when the first attempt started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// EndTime is when the phase reached a final state.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
	// Attempts counts the attempts started so far, retries included.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// Message says why the phase is in its state, e.g. its last error.
	// +optional
	Message string `json:"message,omitempty"`
	// Outputs are the phase's non-secret outputs by name; later phases read
	// them as phases.<name>.<output>, also after a resume.
	// +optional
	Outputs map[string]apiextensionsv1.JSON `json:"outputs,omitempty"`
}

// CleanupRecord names a cleanup that a function registered and that has not
// run yet. The function's cleanup handler is found again by Func and Key.
type CleanupRecord struct {
	// Phase that registered the cleanup.
	Phase string `json:"phase"`
	// Func is the function that registered the cleanup and knows how to run it.
	Func string `json:"func"`
	// Key identifies the cleanup to that function, e.g. the name of the
	// object to release.
	Key string `json:"key"`
	// Hold marks a hold on the application, such as a freeze: it is
	// released as soon as a later phase cuts its snapshot, or when the main
	// phases end, before any finally phase.
	Hold bool `json:"hold,omitempty"`
	// Since is when the cleanup was registered; for a hold, when it began.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// Progress of a run.
type Progress struct {
	// Percent done, 0 to 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percent int32 `json:"percent"`
	// BytesDone is how many bytes have been moved so far.
	// +optional
	BytesDone int64 `json:"bytesDone,omitempty"`
	// BytesTotal is how many bytes there are to move, when known.
	// +optional
	BytesTotal int64 `json:"bytesTotal,omitempty"`
}

// ActionSetList is a list of ActionSets.
//
// +kubebuilder:object:root=true
type ActionSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ActionSet `json:"items"`
}
