package functions

// Resource bundles: where backupResources keeps the captured objects (a
// Secret owned by the ActionSet, or a kopia snapshot on the Location) and
// how restoreResources reads them back.

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/functions/resources"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

var bundleObject = objectOf[ResourceBundle]("ResourceBundle", "the Kubernetes objects backupResources captured, and where they are kept")

// ResourceBundle is a reference to captured objects, the CEL type
// snapflow.ResourceBundle. It holds no object: those stay in the Secret
// or the repository, since they include Secret values.
type ResourceBundle struct {
	Objects    int    `json:"objects" doc:"how many objects were captured"`
	Namespace  string `json:"namespace" doc:"the namespace captured"`
	Secret     string `json:"secret" doc:"without a Location: the Secret in the ActionSet's namespace holding them"`
	Location   string `json:"location" doc:"with a Location: the Location whose repository holds them"`
	SnapshotID string `json:"snapshotID" doc:"with a Location: the kopia snapshot holding them"`
}

// maxSecretBundle is the most a bundle Secret holds: the API server's
// object limit (1 MiB) less room for the metadata.
const maxSecretBundle = 1000 << 10

// BundleSnapshotPrefix starts the key of a bundle's kopia snapshot in a
// restore point's Snapshots (the rest is the captured namespace), apart
// from the claims' keys.
const BundleSnapshotPrefix = "resources:"

// bundleArtifact is the key of a restore point's artifacts export reads
// the bundle's snapshot from, so deleting the restore point deletes it.
const bundleArtifact = "resources"

// bundleSecret is the Secret holding encoded bundle data, owned by the
// ActionSet so it goes with the restore point it is part of.
func bundleSecret(rt *function.Runtime, name string, data []byte) *corev1.Secret {
	meta := ownedMeta(rt, "backupResources", rt.Action.Namespace, name)
	meta.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ActionSet",
		Name: rt.Action.ActionSet, UID: types.UID(rt.Action.UID), Controller: ptr.To(false),
	}}
	return &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{mover.BundleKey: data}}
}

// putBundleSecret creates (or, on a resumed phase, replaces) the Secret.
func putBundleSecret(ctx context.Context, rt *function.Runtime, secret *corev1.Secret) error {
	if n := len(secret.Data[mover.BundleKey]); n > maxSecretBundle {
		return function.Permanent(fmt.Errorf("the captured objects take %d bytes compressed, more than the %d a Secret may hold: narrow the capture (include, exclude, labelSelector) or give the ActionSet a Location", n, maxSecretBundle))
	}
	api := rt.Clients.Kube.CoreV1().Secrets(secret.Namespace)
	_, err := api.Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = api.Update(ctx, secret, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("store the captured objects in Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return nil
}

// storeBundleOnLocation stores data as a kopia snapshot on the Location
// through a put-resources mover, which reads it from a Secret that lasts
// until the action ends.
func storeBundleOnLocation(ctx context.Context, rt *function.Runtime, loc *v1alpha1.Location, src mover.Source, data []byte) (string, error) {
	transit := bundleSecret(rt, rt.Names.Name("resources"), data)
	transit.OwnerReferences = nil
	if err := rt.Cleanup(ctx, moverKey("secret", transit.Namespace, transit.Name)); err != nil {
		return "", err
	}
	if err := putBundleSecret(ctx, rt, transit); err != nil {
		return "", err
	}
	job := moverJob{
		mode: mover.ModePutResources, namespace: rt.Action.Namespace, bundleSecret: transit.Name,
		name: rt.Names.Name("put-resources"), timeout: manifestMoverTimeout,
		request: mover.Request{Location: loc.Spec, Source: src},
	}
	line, err := runMover(ctx, rt, newMoverCredentials(loc), job)
	if err != nil {
		return "", fmt.Errorf("store the captured objects on Location %s: %w", loc.Name, err)
	}
	return line.Result.SnapshotID, nil
}

// loadBundle reads the objects b names.
func loadBundle(ctx context.Context, rt *function.Runtime, b ResourceBundle) (resources.Bundle, error) {
	var data []byte
	switch {
	case b.SnapshotID != "":
		loc, err := locationOf(rt, b.Location)
		if err != nil {
			return resources.Bundle{}, err
		}
		if data, err = loadBundleFromLocation(ctx, rt, loc, b.SnapshotID); err != nil {
			return resources.Bundle{}, err
		}
	case b.Secret != "":
		s, err := rt.Clients.Kube.CoreV1().Secrets(rt.Action.Namespace).Get(ctx, b.Secret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return resources.Bundle{}, function.Permanent(fmt.Errorf("the captured objects' Secret %s/%s is gone (it goes with the backup ActionSet): %w", rt.Action.Namespace, b.Secret, err))
		}
		if err != nil {
			return resources.Bundle{}, fmt.Errorf("read the captured objects' Secret %s/%s: %w", rt.Action.Namespace, b.Secret, err)
		}
		data = s.Data[mover.BundleKey]
	default:
		return resources.Bundle{}, function.Permanent(fmt.Errorf("the bundle names neither a Secret nor a snapshot on a Location"))
	}
	bundle, err := resources.Decode(data)
	if err != nil {
		return resources.Bundle{}, function.Permanent(err)
	}
	return bundle, nil
}

// loadBundleFromLocation reads snapshot id through a get-resources mover,
// which prints it sealed under the repository password.
func loadBundleFromLocation(ctx context.Context, rt *function.Runtime, loc *v1alpha1.Location, id string) ([]byte, error) {
	secrets, err := repository.LocationSecrets(ctx, loc, secretReader(rt))
	if err != nil {
		return nil, err
	}
	job := moverJob{
		mode: mover.ModeGetResources, namespace: rt.Action.Namespace,
		name: rt.Names.Name("get-resources"), timeout: manifestMoverTimeout,
		request: mover.Request{Location: loc.Spec, SnapshotID: id},
	}
	line, err := runMover(ctx, rt, newMoverCredentials(loc), job)
	if err != nil {
		return nil, fmt.Errorf("read the captured objects from Location %s: %w", loc.Name, err)
	}
	return mover.OpenBundle(repository.CredentialsFromSecrets(secrets).Password, line.Resources)
}

// bundleSnapshots are the kopia snapshots of the bundle among artifacts,
// keyed for a restore point's Snapshots.
func bundleSnapshots(artifacts map[string]any) map[string]string {
	raw, err := json.Marshal(artifacts[bundleArtifact])
	if err != nil {
		return nil
	}
	var b ResourceBundle
	if json.Unmarshal(raw, &b) != nil || b.SnapshotID == "" {
		return nil
	}
	return map[string]string{BundleSnapshotPrefix + b.Namespace: b.SnapshotID}
}
