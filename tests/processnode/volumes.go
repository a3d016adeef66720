package processnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// saMountPath is where in-cluster client-go looks for its credentials.
const saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// volumeSource is a prepared volume: a host path to bind-mount.
type volumeSource struct {
	path     string
	readOnly bool
}

// podVolumes is what prepare set up for a pod.
type podVolumes struct {
	byName map[string]volumeSource
	saDir  string                  // implicit service-account dir, "" if none
	csi    map[string]csiPublished // by volume name
	tokens []*tokenFile
}

func newPodVolumes() *podVolumes {
	return &podVolumes{byName: map[string]volumeSource{}, csi: map[string]csiPublished{}}
}

func (w *podWorker) envContext() envContext {
	return envContext{
		pod: w.currentPod(), nodeName: w.n.cfg.NodeName,
		apiHost: w.n.cfg.APIServerHost, apiPort: w.n.cfg.APIServerPort,
		hostPath: os.Getenv("PATH"), objects: w.n.objects,
	}
}

// prepare sets up every volume of the pod under its state dir. It is
// idempotent, so a failed attempt is simply retried.
func (w *podWorker) prepare() error {
	pod := w.currentPod()
	for _, d := range []string{"logs", "volumes"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o755); err != nil {
			return fmt.Errorf("create pod dir: %w", err)
		}
	}
	w.vols.tokens = nil
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		src, err := w.prepareVolume(v)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		w.vols.byName[v.Name] = src
	}
	automount, err := w.automountToken(pod)
	if err != nil {
		return err
	}
	if automount && !mountsAt(pod, saMountPath) {
		dir := filepath.Join(w.dir, "volumes", "kube-api-access-processnode")
		if err := w.writeServiceAccountDir(dir); err != nil {
			return err
		}
		w.vols.saDir = dir
	}
	return nil
}

func (w *podWorker) prepareVolume(v *corev1.Volume) (volumeSource, error) {
	pod := w.currentPod()
	dir := filepath.Join(w.dir, "volumes", v.Name)
	ctx := w.ctx
	switch {
	case v.EmptyDir != nil:
		return volumeSource{path: dir}, os.MkdirAll(dir, 0o777)
	case v.HostPath != nil:
		return prepareHostPath(v.HostPath)
	case v.Secret != nil:
		s, err := w.n.objects.Secret(ctx, pod.Namespace, v.Secret.SecretName)
		if err != nil && !(apierrors.IsNotFound(err) && ptrTrue(v.Secret.Optional)) {
			return volumeSource{}, fmt.Errorf("secret %s: %w", v.Secret.SecretName, err)
		}
		var data map[string][]byte
		if s != nil {
			data = s.Data
		}
		return volumeSource{path: dir, readOnly: true}, writeKeyFiles(dir, data, v.Secret.Items, v.Secret.DefaultMode, ptrTrue(v.Secret.Optional))
	case v.ConfigMap != nil:
		data, err := w.configMapData(pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Optional)
		if err != nil {
			return volumeSource{}, err
		}
		return volumeSource{path: dir, readOnly: true}, writeKeyFiles(dir, data, v.ConfigMap.Items, v.ConfigMap.DefaultMode, ptrTrue(v.ConfigMap.Optional))
	case v.DownwardAPI != nil:
		return volumeSource{path: dir, readOnly: true}, w.writeDownwardAPI(dir, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
	case v.Projected != nil:
		return volumeSource{path: dir, readOnly: true}, w.writeProjected(dir, v.Projected)
	case v.PersistentVolumeClaim != nil:
		return w.prepareCSI(v.Name, v.PersistentVolumeClaim.ClaimName, v.PersistentVolumeClaim.ReadOnly, dir)
	case v.Ephemeral != nil:
		return w.prepareCSI(v.Name, pod.Name+"-"+v.Name, false, dir)
	}
	return volumeSource{}, errors.New("unsupported volume type (supported: emptyDir, hostPath, secret, configMap, downwardAPI, projected, persistentVolumeClaim, ephemeral)")
}

func prepareHostPath(hp *corev1.HostPathVolumeSource) (volumeSource, error) {
	t := corev1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(hp.Path, 0o755); err != nil {
			return volumeSource{}, fmt.Errorf("hostPath: %w", err)
		}
	case corev1.HostPathFileOrCreate:
		f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return volumeSource{}, fmt.Errorf("hostPath: %w", err)
		}
		_ = f.Close()
	case corev1.HostPathUnset:
	default:
		if _, err := os.Stat(hp.Path); err != nil {
			return volumeSource{}, fmt.Errorf("hostPath: %w", err)
		}
	}
	return volumeSource{path: hp.Path}, nil
}

// configMapData reads a configMap's data and binary data. The
// kube-root-ca.crt configMap falls back to the cluster CA file, so pods work
// without kube-controller-manager's root-ca publisher.
func (w *podWorker) configMapData(ns, name string, optional *bool) (map[string][]byte, error) {
	cm, err := w.n.objects.ConfigMap(w.ctx, ns, name)
	if apierrors.IsNotFound(err) && name == "kube-root-ca.crt" && w.n.cfg.CAFile != "" {
		ca, rerr := os.ReadFile(w.n.cfg.CAFile)
		if rerr != nil {
			return nil, fmt.Errorf("read CA file: %w", rerr)
		}
		return map[string][]byte{"ca.crt": ca}, nil
	}
	if err != nil {
		if apierrors.IsNotFound(err) && ptrTrue(optional) {
			return nil, nil
		}
		return nil, fmt.Errorf("configMap %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

// writeKeyFiles writes data into dir: every key, or only items. A key
// missing from items fails unless optional.
func writeKeyFiles(dir string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, optional bool) error {
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create volume dir: %w", err)
	}
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			if err := writeVolumeFile(dir, k, data[k], mode); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("no key %q", it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		if err := writeVolumeFile(dir, it.Path, v, m); err != nil {
			return err
		}
	}
	return nil
}

// writeVolumeFile writes rel (a relative path without "..") below dir
// atomically, so a refreshed file is never seen half written.
func writeVolumeFile(dir, rel string, data []byte, mode os.FileMode) error {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("invalid file path %q", rel)
	}
	path := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create dir for %s: %w", rel, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", rel, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", rel, err)
	}
	return nil
}

func (w *podWorker) writeDownwardAPI(dir string, items []corev1.DownwardAPIVolumeFile, defaultMode *int32) error {
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	ec := w.envContext()
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = podField(ec, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := containerByName(&w.spec, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return fmt.Errorf("downwardAPI %s: no container %q", it.Path, it.ResourceFieldRef.ContainerName)
			}
			v, err = resourceField(c, it.ResourceFieldRef)
		}
		if err != nil {
			return fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode)
		}
		if err := writeVolumeFile(dir, it.Path, []byte(v), m); err != nil {
			return err
		}
	}
	return nil
}

func (w *podWorker) writeProjected(dir string, p *corev1.ProjectedVolumeSource) error {
	pod := w.currentPod()
	for _, s := range p.Sources {
		var err error
		switch {
		case s.Secret != nil:
			var sec *corev1.Secret
			sec, err = w.n.objects.Secret(w.ctx, pod.Namespace, s.Secret.Name)
			if apierrors.IsNotFound(err) && ptrTrue(s.Secret.Optional) {
				continue
			}
			if err == nil {
				err = writeKeyFiles(dir, sec.Data, s.Secret.Items, p.DefaultMode, ptrTrue(s.Secret.Optional))
			}
		case s.ConfigMap != nil:
			var data map[string][]byte
			data, err = w.configMapData(pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Optional)
			if err == nil {
				err = writeKeyFiles(dir, data, s.ConfigMap.Items, p.DefaultMode, ptrTrue(s.ConfigMap.Optional))
			}
		case s.DownwardAPI != nil:
			err = w.writeDownwardAPI(dir, s.DownwardAPI.Items, p.DefaultMode)
		case s.ServiceAccountToken != nil:
			mode := os.FileMode(0o644)
			if p.DefaultMode != nil {
				mode = os.FileMode(*p.DefaultMode)
			}
			t := &tokenFile{path: filepath.Join(dir, s.ServiceAccountToken.Path), audience: s.ServiceAccountToken.Audience,
				expirationSeconds: s.ServiceAccountToken.ExpirationSeconds, mode: mode}
			err = w.writeToken(t)
		default:
			err = errors.New("unsupported projected source (supported: secret, configMap, downwardAPI, serviceAccountToken)")
		}
		if err != nil {
			return fmt.Errorf("projected: %w", err)
		}
	}
	return nil
}

// automountToken reports whether the pod gets the implicit service-account
// dir: the pod's automountServiceAccountToken, else its ServiceAccount's.
func (w *podWorker) automountToken(pod *corev1.Pod) (bool, error) {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken, nil
	}
	sa, err := w.n.client.CoreV1().ServiceAccounts(pod.Namespace).Get(w.ctx, serviceAccountName(pod), metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("waiting for service account %s: %w", serviceAccountName(pod), err)
	}
	return sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken, nil
}

// writeServiceAccountDir writes token, ca.crt and namespace, like the
// kube-api-access projected volume of a real cluster.
func (w *podWorker) writeServiceAccountDir(dir string) error {
	if err := w.writeToken(&tokenFile{path: filepath.Join(dir, "token"), mode: 0o644}); err != nil {
		return err
	}
	var ca []byte
	if w.n.cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(w.n.cfg.CAFile); err != nil {
			return fmt.Errorf("read CA file: %w", err)
		}
	}
	if err := writeVolumeFile(dir, "ca.crt", ca, 0o644); err != nil {
		return err
	}
	return writeVolumeFile(dir, "namespace", []byte(w.currentPod().Namespace), 0o644)
}

func serviceAccountName(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName != "" {
		return pod.Spec.ServiceAccountName
	}
	return "default"
}

// mountsAt reports whether any container of pod mounts something at path.
func mountsAt(pod *corev1.Pod, path string) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, m := range c.VolumeMounts {
				if filepath.Clean(m.MountPath) == path {
					return true
				}
			}
		}
	}
	return false
}

func containerByName(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// mountsFor lists the bind mounts of container c, parents before children.
func (w *podWorker) mountsFor(c *corev1.Container) ([]Mount, error) {
	var ms []Mount
	for _, vm := range c.VolumeMounts {
		src, ok := w.vols.byName[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: no such volume", vm.Name)
		}
		path := src.path
		if vm.SubPath != "" {
			clean := filepath.Clean(vm.SubPath)
			if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
				return nil, fmt.Errorf("volumeMount %s: invalid subPath %q", vm.Name, vm.SubPath)
			}
			path = filepath.Join(path, clean)
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(path, 0o755); err != nil {
					return nil, fmt.Errorf("volumeMount %s: create subPath: %w", vm.Name, err)
				}
			}
		}
		ms = append(ms, Mount{Source: path, Target: filepath.Join("/", vm.MountPath), ReadOnly: vm.ReadOnly || src.readOnly})
	}
	if w.vols.saDir != "" {
		ms = append(ms, Mount{Source: w.vols.saDir, Target: saMountPath, ReadOnly: true})
	}
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(ms[i].Target, "/") < strings.Count(ms[j].Target, "/")
	})
	return ms, nil
}
