package mover

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Paths inside a mover pod.
const (
	DataDir   = "/data"           // the volume exported or restored into
	ConfigDir = "/snapflow/kopia" // kopia's config and cache, an emptyDir
)

// PodOptions say how to build a mover pod.
type PodOptions struct {
	Name, Namespace string
	Labels          map[string]string
	// Image and Command start the snapflow binary; the mode is appended
	// as `mover <mode>`.
	Image   string
	Command []string
	Mode    string
	// Claim is mounted at DataDir, read-only for an export; record and
	// forget have none.
	Claim string
	// CredentialsSecret, in Namespace, holds the repository password and
	// the store's credentials under repository.SecretKeys' keys.
	CredentialsSecret string
	// BundleSecret, in Namespace, holds the resource bundle a
	// put-resources mover stores; it is mounted at BundleDir.
	BundleSecret string
	Request      Request
}

// Pod builds the mover pod. Secrets reach it only as environment
// variables from CredentialsSecret; the command line and the request hold
// none.
func Pod(o PodOptions) (*corev1.Pod, error) {
	req := o.Request
	req.Dir, req.ConfigDir = DataDir, ConfigDir
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the mover request: %w", err)
	}
	env := []corev1.EnvVar{{Name: RequestEnv, Value: string(raw)}}
	for _, key := range slices.Sorted(maps.Keys(repository.SecretKeys)) {
		env = append(env, corev1.EnvVar{Name: repository.SecretKeys[key], ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: o.CredentialsSecret},
				Key:                  key, Optional: ptr.To(true),
			},
		}})
	}
	mounts := []corev1.VolumeMount{{Name: "kopia", MountPath: ConfigDir}}
	volumes := []corev1.Volume{{Name: "kopia", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if o.Claim != "" {
		readOnly := o.Mode == ModeExport
		mounts = append(mounts, corev1.VolumeMount{Name: "data", MountPath: DataDir, ReadOnly: readOnly})
		volumes = append(volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.Claim, ReadOnly: readOnly},
		}})
	}
	if o.BundleSecret != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: "resources", MountPath: BundleDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "resources", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: o.BundleSecret},
		}})
	}
	if req.Location.Type == v1alpha1.LocationTypeFilesystem {
		// A filesystem Location is a path every node mounts, e.g. NFS.
		mounts = append(mounts, corev1.VolumeMount{Name: "location", MountPath: req.Location.Path})
		volumes = append(volumes, corev1.Volume{Name: "location", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: req.Location.Path, Type: ptr.To(corev1.HostPathDirectoryOrCreate)},
		}})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: o.Labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: "mover", Image: o.Image,
				Command:         append(slices.Clone(o.Command), "mover", o.Mode),
				Env:             env,
				VolumeMounts:    mounts,
				SecurityContext: SecurityContext(o.Mode),
			}},
			Volumes: volumes,
		},
	}, nil
}
