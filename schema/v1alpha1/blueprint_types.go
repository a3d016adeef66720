package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Blueprint says, for one kind of application, how to back it up and restore
// it: named actions, each an ordered list of phases that call registered
// functions with CEL arguments.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bp;bps,categories=snapflow
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Blueprint struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares the blueprint's params and actions.
	Spec BlueprintSpec `json:"spec"`
	// Status reports whether the blueprint compiles, with every error found.
	// +optional
	Status BlueprintStatus `json:"status,omitempty"`
}

// BlueprintSpec declares a blueprint's params and actions.
type BlueprintSpec struct {
	// Params declares the inputs an ActionSet may set, by name. Expressions
	// read them as params.<name>.
	// +optional
	Params map[string]ParamSpec `json:"params,omitempty"`
	// Actions are the things this blueprint can do (backup, restore, ...),
	// by name. An ActionSet runs exactly one of them.
	// +kubebuilder:validation:MinProperties=1
	Actions map[string]ActionSpec `json:"actions"`
}

// ParamSpec declares one blueprint param.
type ParamSpec struct {
	// Type is the param's CEL type: bool, int, uint, double, string, bytes,
	// duration, timestamp, dyn, list(T) or map(K, V).
	// +kubebuilder:validation:MinLength=1
	Type string `json:"type"`
	// Default is used when the ActionSet does not set the param. A param
	// without a default is required.
	// +optional
	Default *apiextensionsv1.JSON `json:"default,omitempty"`
	// Description is shown in docs and by `snapflow plan`.
	// +optional
	Description string `json:"description,omitempty"`
}

// ActionSpec is one action of a blueprint.
type ActionSpec struct {
	// Description says what the action does.
	// +optional
	Description string `json:"description,omitempty"`
	// Timeout bounds the whole action, finally phases excluded, as a Go
	// duration ("90m"). Empty means no limit.
	// +optional
	Timeout string `json:"timeout,omitempty"`
	// Phases run in order; the first failure stops the action.
	// +kubebuilder:validation:MinItems=1
	Phases []PhaseSpec `json:"phases"`
	// Finally phases always run after the phases, whether they succeeded,
	// failed or were cancelled.
	// +optional
	Finally []PhaseSpec `json:"finally,omitempty"`
	// Outputs become the restore point (the ActionSet's output artifacts):
	// name to value, where values may hold ${{ }} expressions.
	// +optional
	Outputs map[string]apiextensionsv1.JSON `json:"outputs,omitempty"`
}

// PhaseSpec is one step of an action: a call of a registered function.
type PhaseSpec struct {
	// Name identifies the phase; later phases read its outputs as
	// phases.<name>.<output>.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Func is the registered function to call (see `snapflow functions`).
	// +kubebuilder:validation:MinLength=1
	Func string `json:"func"`
	// Args are the function's arguments by name. A string that is exactly
	// ${{ expr }} yields the expression's typed value; ${{ }} inside a longer
	// string interpolates.
	// +optional
	Args map[string]apiextensionsv1.JSON `json:"args,omitempty"`
	// When is a bare CEL boolean; the phase is skipped when it is false.
	// +optional
	When string `json:"when,omitempty"`
	// Timeout bounds one attempt of the phase, as a Go duration ("10m").
	// +optional
	Timeout string `json:"timeout,omitempty"`
	// Retry re-runs a failed attempt.
	// +optional
	Retry *RetrySpec `json:"retry,omitempty"`
}

// RetrySpec says how often and how patiently a phase is retried.
type RetrySpec struct {
	// Attempts is the total number of tries, the first included.
	// +kubebuilder:validation:Minimum=1
	Attempts int32 `json:"attempts"`
	// Backoff spaces the attempts; the default starts at 1s and doubles up to 1m.
	// +optional
	Backoff *BackoffSpec `json:"backoff,omitempty"`
}

// BackoffSpec is an exponential backoff between attempts.
type BackoffSpec struct {
	// Initial is the first wait, as a Go duration. Default 1s.
	// +optional
	Initial string `json:"initial,omitempty"`
	// Factor multiplies the wait after each attempt. Default 2.
	// +optional
	Factor *int32 `json:"factor,omitempty"`
	// Max caps the wait, as a Go duration. Default 1m.
	// +optional
	Max string `json:"max,omitempty"`
}

// BlueprintStatus reports whether the blueprint compiles.
type BlueprintStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Errors lists every compile error as "line:col: path: message".
	// +optional
	Errors []string `json:"errors,omitempty"`
	// Conditions hold Valid (True when the blueprint compiles).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BlueprintList is a list of Blueprints.
//
// +kubebuilder:object:root=true
type BlueprintList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Blueprint `json:"items"`
}
