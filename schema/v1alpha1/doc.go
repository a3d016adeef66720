// Package v1alpha1 holds the snapflow.dev/v1alpha1 API types: Blueprint,
// ActionSet and Location. The types are data only: structural rules live in
// kubebuilder markers (and so in the generated CRDs); semantic checks belong
// to the blueprint compiler in engine/compile.
//
// +kubebuilder:object:generate=true
// +groupName=snapflow.dev
package v1alpha1
