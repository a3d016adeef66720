package repository

import (
	"context"
	"fmt"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// SecretReader reads one Secret's data. The mover job passes the
// controller's client; kubectl snapflow passes the user's.
type SecretReader func(ctx context.Context, namespace, name string) (map[string][]byte, error)

// CheckLocation reports a Location that cannot hold exports: its repository
// needs a password, because exports are always encrypted.
func CheckLocation(loc *v1alpha1.Location) error {
	if loc.Spec.RepositoryPasswordSecretRef == nil {
		return fmt.Errorf("Location %s/%s has no repositoryPasswordSecretRef: exports are always encrypted", loc.Namespace, loc.Name)
	}
	return nil
}

// LocationSecrets checks loc and reads its Secrets (credentialsSecretRef
// and repositoryPasswordSecretRef) through read, keeping only the keys of
// SecretKeys: what a mover's copy of them holds and what
// CredentialsFromSecrets reads. This is the one place they are read.
func LocationSecrets(ctx context.Context, loc *v1alpha1.Location, read SecretReader) (map[string][]byte, error) {
	if err := CheckLocation(loc); err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for _, ref := range loc.SecretRefs() {
		s, err := read(ctx, ref.Namespace, ref.Name)
		if err != nil {
			return nil, fmt.Errorf("Location %s: read Secret %s/%s: %w", loc.Name, ref.Namespace, ref.Name, err)
		}
		for key := range SecretKeys {
			if v, ok := s[key]; ok {
				data[key] = v
			}
		}
	}
	return data, nil
}
