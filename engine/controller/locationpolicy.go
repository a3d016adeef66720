package controller

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// LocationPolicy is what the controller's operator allows of Locations,
// beyond what the API server's RBAC checks.
type LocationPolicy struct {
	// FilesystemPaths are the directories under which a filesystem
	// Location may keep its repository. Such a Location makes a mover pod
	// mount the node's directory read-write as root, so none is allowed
	// unless the operator names it (--allow-filesystem-location).
	FilesystemPaths []string
}

// Check refuses a Location whose Secrets are outside its namespace, or a
// filesystem Location outside the allowed directories.
func (p LocationPolicy) Check(loc *v1alpha1.Location) error {
	refs := []struct {
		field string
		ref   *v1alpha1.SecretReference
	}{{"credentialsSecretRef", loc.Spec.CredentialsSecretRef}, {"repositoryPasswordSecretRef", loc.Spec.RepositoryPasswordSecretRef}}
	for _, r := range refs {
		if r.ref != nil && r.ref.Namespace != "" && r.ref.Namespace != loc.Namespace {
			return fmt.Errorf("spec.%s.namespace %q: a Location's Secrets must be in its own namespace %q", r.field, r.ref.Namespace, loc.Namespace)
		}
	}
	if loc.Spec.Type != v1alpha1.LocationTypeFilesystem {
		return nil
	}
	path := filepath.Clean(loc.Spec.Path)
	if !filepath.IsAbs(path) {
		return fmt.Errorf("spec.path %q: a filesystem Location needs an absolute path", loc.Spec.Path)
	}
	for _, allowed := range p.FilesystemPaths {
		allowed = filepath.Clean(allowed)
		if path == allowed || strings.HasPrefix(path, allowed+string(filepath.Separator)) {
			return nil
		}
	}
	if len(p.FilesystemPaths) == 0 {
		return fmt.Errorf("spec.path %q: filesystem Locations are not allowed by this controller (its operator allows directories with --allow-filesystem-location)", loc.Spec.Path)
	}
	return fmt.Errorf("spec.path %q is not under a directory this controller allows for filesystem Locations (%s)", loc.Spec.Path, strings.Join(p.FilesystemPaths, ", "))
}
