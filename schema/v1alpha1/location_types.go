package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Location is where exports are stored: an Azure Blob container, an S3
// bucket or a filesystem path, holding a kopia repository.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=loc,categories=snapflow
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Location struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which store to use and how to reach it.
	Spec LocationSpec `json:"spec"`
	// Status reports whether the store can be reached.
	// +optional
	Status LocationStatus `json:"status,omitempty"`
}

// LocationType is the kind of store a Location points at.
// +kubebuilder:validation:Enum=azure;s3;filesystem
type LocationType string

// The kinds of store.
const (
	LocationTypeAzure      LocationType = "azure"
	LocationTypeS3         LocationType = "s3"
	LocationTypeFilesystem LocationType = "filesystem"
)

// LocationSpec says which store to use and how to reach it. Each type needs
// its own field (container, bucket or path); the others are ignored.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'azure' || (has(self.container) && size(self.container) > 0)",message="type azure needs container"
// +kubebuilder:validation:XValidation:rule="self.type != 's3' || (has(self.bucket) && size(self.bucket) > 0)",message="type s3 needs bucket"
// +kubebuilder:validation:XValidation:rule="self.type != 'filesystem' || (has(self.path) && size(self.path) > 0)",message="type filesystem needs path"
type LocationSpec struct {
	// Type of the store: azure, s3 or filesystem.
	Type LocationType `json:"type"`
	// Endpoint is the service URL; empty means the cloud's public endpoint.
	// Path-style URLs are allowed, e.g. http://127.0.0.1:10000/devstoreaccount1
	// for Azurite or http://minio.minio:9000 for S3-compatible stores.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Container is the Azure Blob container; required for type azure.
	// +optional
	Container string `json:"container,omitempty"`
	// Bucket is the S3 bucket; required for type s3.
	// +optional
	Bucket string `json:"bucket,omitempty"`
	// Path is the directory on the mover's filesystem; required for type
	// filesystem.
	// +optional
	Path string `json:"path,omitempty"`
	// Prefix is prepended to every object name, so several repositories can
	// share one container or bucket.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Region of the bucket (s3) or of the storage account (azure).
	// +optional
	Region string `json:"region,omitempty"`
	// CredentialsSecretRef names the Secret with the store's credentials
	// (Azure account name and key or SAS; S3 access key). Empty means
	// ambient credentials (workload identity, instance role) or none.
	// +optional
	CredentialsSecretRef *SecretReference `json:"credentialsSecretRef,omitempty"`
	// RepositoryPasswordSecretRef names the Secret with the password that
	// encrypts the kopia repository.
	// +optional
	RepositoryPasswordSecretRef *SecretReference `json:"repositoryPasswordSecretRef,omitempty"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the Secret; empty means the Location's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// LocationStatus reports whether the store can be reached.
type LocationStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions describe the Location's state, e.g. whether the store and
	// its repository can be reached.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LocationList is a list of Locations.
//
// +kubebuilder:object:root=true
type LocationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Location `json:"items"`
}

// SecretRefs returns the Secrets the Location's credentials and password
// are in, with each empty namespace set to the Location's.
func (l *Location) SecretRefs() []SecretReference {
	var out []SecretReference
	for _, ref := range []*SecretReference{l.Spec.CredentialsSecretRef, l.Spec.RepositoryPasswordSecretRef} {
		if ref == nil {
			continue
		}
		r := *ref
		if r.Namespace == "" {
			r.Namespace = l.Namespace
		}
		out = append(out, r)
	}
	return out
}
