package processnode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// errNoCommand fails a container that relies on its image's entrypoint.
var errNoCommand = errors.New("image entrypoints are not supported: set command")

// objectReader reads the objects a pod spec refers to. clientObjects
// implements it with a clientset; tests use maps.
type objectReader interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// envContext is what environment building needs besides the container.
type envContext struct {
	pod      *corev1.Pod
	nodeName string
	apiHost  string
	apiPort  int
	hostPath string // PATH used when the container sets none
	objects  objectReader
}

// envList is an ordered set of environment variables: setting an existing
// name replaces its value in place.
type envList struct {
	names  []string
	values map[string]string
}

func (l *envList) set(name, value string) {
	if l.values == nil {
		l.values = map[string]string{}
	}
	if _, ok := l.values[name]; !ok {
		l.names = append(l.names, name)
	}
	l.values[name] = value
}

func (l *envList) lookup(name string) (string, bool) {
	v, ok := l.values[name]
	return v, ok
}

// environ returns NAME=value pairs in definition order.
func (l *envList) environ() []string {
	out := make([]string, 0, len(l.names))
	for _, n := range l.names {
		out = append(out, n+"="+l.values[n])
	}
	return out
}

// buildEnv returns the environment of container c with Kubernetes
// precedence: envFrom, then env (expanding $(VAR) against what is defined
// so far), then the service variables and defaults for names still unset.
func buildEnv(ctx context.Context, ec envContext, c *corev1.Container) (*envList, error) {
	env := &envList{}
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, ec, from)
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(data) {
			name := from.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue // kubelet skips invalid names too
			}
			env.set(name, data[k])
		}
	}
	defaults := serviceEnv(ec)
	mapping := func(name string) (string, bool) {
		if v, ok := env.lookup(name); ok {
			return v, true
		}
		v, ok := defaults.lookup(name)
		return v, ok
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env.set(e.Name, expand(e.Value, mapping))
			continue
		}
		v, ok, err := envValueFrom(ctx, ec, c, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			env.set(e.Name, v)
		}
	}
	for _, n := range defaults.names {
		if _, ok := env.lookup(n); !ok {
			env.set(n, defaults.values[n])
		}
	}
	return env, nil
}

// serviceEnv is what every container gets unless it sets the name itself:
// the apiserver address (there is no kube-proxy), PATH, HOME and HOSTNAME.
func serviceEnv(ec envContext) *envList {
	d := &envList{}
	port := strconv.Itoa(ec.apiPort)
	d.set("KUBERNETES_SERVICE_HOST", ec.apiHost)
	d.set("KUBERNETES_SERVICE_PORT", port)
	d.set("KUBERNETES_SERVICE_PORT_HTTPS", port)
	d.set("KUBERNETES_PORT", "tcp://"+ec.apiHost+":"+port)
	path := ec.hostPath
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	d.set("PATH", path)
	d.set("HOME", "/root")
	d.set("HOSTNAME", ec.pod.Name)
	return d
}

func envFromData(ctx context.Context, ec envContext, from corev1.EnvFromSource) (map[string]string, error) {
	ns := ec.pod.Namespace
	switch {
	case from.ConfigMapRef != nil:
		cm, err := ec.objects.ConfigMap(ctx, ns, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ptrTrue(from.ConfigMapRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom configMap %s: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := ec.objects.Secret(ctx, ns, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ptrTrue(from.SecretRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom secret %s: %w", from.SecretRef.Name, err)
		}
		data := map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		for k, v := range s.StringData {
			data[k] = v
		}
		return data, nil
	}
	return nil, nil
}

// envValueFrom resolves one valueFrom; ok is false for a missing optional key.
func envValueFrom(ctx context.Context, ec envContext, c *corev1.Container, from *corev1.EnvVarSource) (string, bool, error) {
	ns := ec.pod.Namespace
	switch {
	case from.FieldRef != nil:
		v, err := podField(ec, from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceField(c, from.ResourceFieldRef)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := ec.objects.ConfigMap(ctx, ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ptrTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configMap %s: %w", ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if ptrTrue(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("configMap %s has no key %q", ref.Name, ref.Key)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := ec.objects.Secret(ctx, ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && ptrTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %s: %w", ref.Name, err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if ptrTrue(ref.Optional) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("secret %s has no key %q", ref.Name, ref.Key)
	}
	return "", false, errors.New("unsupported valueFrom")
}

// podField resolves a downward-API field path.
func podField(ec envContext, path string) (string, error) {
	pod := ec.pod
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return ec.nodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.hostIP":
		return nodeIP, nil
	case "status.podIPs", "status.hostIPs":
		return nodeIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

func formatMap(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(lines, "\n")
}

// resourceField resolves limits/requests of c; an unset limit is the
// node's allocatable amount, as on a kubelet.
func resourceField(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	var name corev1.ResourceName
	switch {
	case strings.HasPrefix(ref.Resource, "limits."):
		name = corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))
		q = c.Resources.Limits[name]
		if q.IsZero() {
			q = nodeCapacity()[name]
		}
	case strings.HasPrefix(ref.Resource, "requests."):
		name = corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))
		q = c.Resources.Requests[name]
	default:
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	if name == corev1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// resolveArgv returns command + args with $(VAR) expanded against env.
// The image is ignored, so a container without command cannot run.
func resolveArgv(c *corev1.Container, env *envList) ([]string, error) {
	if len(c.Command) == 0 {
		return nil, errNoCommand
	}
	argv := make([]string, 0, len(c.Command)+len(c.Args))
	for _, s := range append(append([]string(nil), c.Command...), c.Args...) {
		argv = append(argv, expand(s, env.lookup))
	}
	return argv, nil
}

// expand implements Kubernetes' $(VAR) syntax: $(NAME) becomes the value of
// a defined NAME and stays as written otherwise; $$ is a literal $.
func expand(in string, mapping func(string) (string, bool)) string {
	var b strings.Builder
	checkpoint := 0
	for i := 0; i < len(in); i++ {
		if in[i] != '$' || i+1 >= len(in) {
			continue
		}
		b.WriteString(in[checkpoint:i])
		rest := in[i+1:]
		advance := 1
		switch rest[0] {
		case '$':
			b.WriteByte('$')
		case '(':
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				b.WriteString("$(")
				break
			}
			name := rest[1:end]
			if v, ok := mapping(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			advance = end + 1
		default:
			b.WriteByte('$')
			b.WriteByte(rest[0])
		}
		i += advance
		checkpoint = i + 1
	}
	return b.String() + in[checkpoint:]
}

func ptrTrue(b *bool) bool { return b != nil && *b }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
