package plugin

import (
	"context"
	"fmt"
	"os"

	"github.com/kopia/kopia/repo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

var (
	locationsGVR = v1alpha1.SchemeGroupVersion.WithResource("locations")
	secretsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// locationHelp explains, for the commands that read a Location's
// repository, where that happens.
const locationHelp = `The repository is read from this machine, not from the cluster: the
Location's Secrets are read with your kubeconfig, and its storage (Azure
Blob, S3, or a filesystem path mounted here too) must be reachable from
here. Nothing secret is printed.`

// locationRepository is a Location's kopia repository, opened from here.
type locationRepository struct {
	loc       *v1alpha1.Location
	rep       repo.Repository
	configDir string
}

// openLocation connects to Location name's repository in the namespace,
// with the credentials its Secrets hold. It never creates a repository.
func openLocation(ctx context.Context, c clients, name string) (*locationRepository, error) {
	loc, err := getLocation(ctx, c, name)
	if err != nil {
		return nil, err
	}
	creds, err := locationCredentials(ctx, c, loc)
	if err != nil {
		return nil, err
	}
	if loc.Spec.Type == v1alpha1.LocationTypeFilesystem {
		if _, err := os.Stat(loc.Spec.Path); err != nil {
			return nil, fmt.Errorf("Location %s is the filesystem path %s, which is not mounted on this machine: %w", name, loc.Spec.Path, err)
		}
	}
	st, err := repository.NewStorage(ctx, loc.Spec, creds, false)
	if err != nil {
		return nil, fmt.Errorf("Location %s: %w", name, err)
	}
	dir, err := os.MkdirTemp("", "kubectl-snapflow-kopia-")
	if err != nil {
		return nil, fmt.Errorf("kopia config dir: %w", err)
	}
	rep, err := repository.Connect(ctx, st, creds.Password, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("Location %s: %w", name, err)
	}
	return &locationRepository{loc: loc, rep: rep, configDir: dir}, nil
}

// Close closes the repository and removes kopia's local config and cache.
func (l *locationRepository) Close(ctx context.Context) {
	_ = l.rep.Close(ctx)
	_ = os.RemoveAll(l.configDir)
}

func getLocation(ctx context.Context, c clients, name string) (*v1alpha1.Location, error) {
	u, err := c.dyn.Resource(locationsGVR).Namespace(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get location %s: %w", name, err)
	}
	loc := &v1alpha1.Location{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, loc); err != nil {
		return nil, fmt.Errorf("decode location %s: %w", name, err)
	}
	return loc, nil
}

// locationCredentials reads the Location's credentials and password
// Secrets with the user's kubeconfig, as the mover job does with the
// controller's.
func locationCredentials(ctx context.Context, c clients, loc *v1alpha1.Location) (repository.Credentials, error) {
	data, err := repository.LocationSecrets(ctx, loc, func(ctx context.Context, namespace, name string) (map[string][]byte, error) {
		u, err := c.dyn.Resource(secretsGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		var s corev1.Secret
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		return s.Data, nil
	})
	if err != nil {
		return repository.Credentials{}, err
	}
	return repository.CredentialsFromSecrets(data), nil
}

// locationCommand is what the commands reading a Location share: the
// --location flag, the cluster client, and listing the restore points.
type locationCommand struct {
	deps     Deps
	Location string
	c        clients
}

// Complete resolves the namespace and the cluster client.
func (o *locationCommand) Complete([]string) error {
	var err error
	o.c, err = newClients(o.deps.Factory)
	return err
}

// restorePoints opens the Location and lists its restore points, newest
// first; the caller closes the repository.
func (o *locationCommand) restorePoints(ctx context.Context) (*locationRepository, []repository.RestorePoint, error) {
	l, err := openLocation(ctx, o.c, o.Location)
	if err != nil {
		return nil, nil, err
	}
	rps, err := repository.ListRestorePoints(ctx, l.rep)
	if err != nil {
		l.Close(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("Location %s: %w", o.Location, err)
	}
	return l, rps, nil
}
