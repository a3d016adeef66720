package processnode

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// mapObjects is an in-memory objectReader keyed by name (one namespace).
type mapObjects struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func (m mapObjects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := m.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func (m mapObjects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if c, ok := m.configMaps[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func testEnvContext() envContext {
	return envContext{
		pod: &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "mover", Namespace: "ns1", UID: "uid-1", Labels: map[string]string{"app": "db"}},
			Spec:       corev1.PodSpec{ServiceAccountName: "sa"},
		},
		nodeName: "node-a", apiHost: "127.0.0.1", apiPort: 6443, hostPath: "/usr/bin:/bin",
		objects: mapObjects{
			secrets: map[string]*corev1.Secret{"creds": {Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cret")}}},
			configMaps: map[string]*corev1.ConfigMap{"settings": {Data: map[string]string{
				"LEVEL": "debug", "dashed-name": "kept", "KUBERNETES_SERVICE_PORT": "1",
			}}},
		},
	}
}

func TestBuildEnv(t *testing.T) {
	optional := true
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
			{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: &optional}},
		},
		Env: []corev1.EnvVar{
			{Name: "LEVEL", Value: "info"},
			{Name: "URL", Value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/$(MISSING)$$(LEVEL)"},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "pass"}}},
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "LEVEL"}}},
			{Name: "GONE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "nope", Optional: &optional}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "PATH", Value: "/opt/bin:$(PATH)"},
		},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
	}
	env, err := buildEnv(context.Background(), testEnvContext(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"KUBERNETES_SERVICE_PORT=1", // envFrom overrides the service variables
		"LEVEL=info",
		"dashed-name=kept", // relaxed env var names (Kubernetes 1.32+)
		"DB_pass=s3cret",
		"DB_user=admin",
		"URL=https://127.0.0.1:1/$(MISSING)$(LEVEL)",
		"PASSWORD=s3cret",
		"MODE=debug",
		"POD=mover",
		"NS=ns1",
		"UID=uid-1",
		"NODE=node-a",
		"IP=127.0.0.1",
		"APP=db",
		"MEM=64",
		"PATH=/opt/bin:/usr/bin:/bin",
		"KUBERNETES_SERVICE_HOST=127.0.0.1",
		"KUBERNETES_SERVICE_PORT_HTTPS=6443",
		"KUBERNETES_PORT=tcp://127.0.0.1:6443",
		"HOME=/root",
		"HOSTNAME=mover",
	}
	if diff := cmp.Diff(want, env.environ()); diff != "" {
		t.Errorf("environ (-want +got):\n%s", diff)
	}
}

func TestBuildEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		c    corev1.Container
		want string
	}{
		{
			name: "missing secret",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}}}},
			want: `env P: secret nope: secrets "nope" not found`,
		},
		{
			name: "missing key",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}}}},
			want: `env P: secret creds has no key "k"`,
		},
		{
			name: "missing envFrom configMap",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}}},
			want: `envFrom configMap nope: configmaps "nope" not found`,
		},
		{
			name: "unsupported field",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.hostname"}}}}},
			want: `env P: unsupported fieldPath "spec.hostname"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildEnv(context.Background(), testEnvContext(), &tc.c)
			if err == nil || err.Error() != tc.want {
				t.Errorf("buildEnv error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "x", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct{ in, want string }{
		{"$(A)", "x"},
		{"pre-$(A)-post", "pre-x-post"},
		{"$(EMPTY)|", "|"},
		{"$(UNSET)", "$(UNSET)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"$(A", "$(A"},
		{"$A", "$A"},
		{"cost: 5$", "cost: 5$"},
		{"$()", "$()"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := expand(tc.in, lookup); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolveArgv(t *testing.T) {
	env := &envList{}
	env.set("TARGET", "/data")
	tests := []struct {
		name    string
		c       corev1.Container
		want    []string
		wantErr error
	}{
		{name: "command and args", c: corev1.Container{Command: []string{"/bin/sh", "-c"}, Args: []string{"ls $(TARGET)"}},
			want: []string{"/bin/sh", "-c", "ls /data"}},
		{name: "command only", c: corev1.Container{Command: []string{"sleep", "$(TARGET)"}}, want: []string{"sleep", "/data"}},
		{name: "args without command", c: corev1.Container{Image: "busybox", Args: []string{"sleep", "1"}}, wantErr: errNoCommand},
		{name: "nothing", c: corev1.Container{Image: "busybox"}, wantErr: errNoCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveArgv(&tc.c, env)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("resolveArgv error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
	if errNoCommand.Error() != "image entrypoints are not supported: set command" {
		t.Errorf("errNoCommand = %q", errNoCommand)
	}
}
