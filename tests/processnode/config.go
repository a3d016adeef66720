package processnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Config configures the node.
type Config struct {
	// NodeName is the name of the Node object and of its Lease.
	NodeName string
	// Kubeconfig holds admin or node credentials for the apiserver (used by
	// Run; New takes a client instead).
	Kubeconfig string
	// StateDir holds per-pod dirs (StateDir/pods/<uid>/{volumes,logs}) and
	// CSI staging dirs (StateDir/csi).
	StateDir string
	// ListenAddr is where the kubelet API is served with TLS, e.g.
	// 127.0.0.1:10250. Port 0 picks a free port, reported in the Node's
	// daemonEndpoints.
	ListenAddr string
	// TLSCertFile and TLSKeyFile are the kubelet API's serving cert; when
	// both are empty a self-signed cert is generated (the apiserver runs
	// without --kubelet-certificate-authority, so it does not verify it).
	TLSCertFile, TLSKeyFile string
	// APIServerHost and APIServerPort become KUBERNETES_SERVICE_HOST and
	// KUBERNETES_SERVICE_PORT in every container (there is no kube-proxy).
	APIServerHost string
	APIServerPort int
	// CAFile is the cluster CA, written as ca.crt into the service-account
	// dir of every pod.
	CAFile string
	// CSIDriverName is the one CSI driver this node publishes volumes of.
	CSIDriverName string
	// CSIEndpoint is the driver's node service, e.g. unix:///run/csi.sock.
	CSIEndpoint string
	// SelfExe is the binary whose ContainerInitCommand subcommand calls
	// ContainerInit; it is re-executed for every container and exec.
	SelfExe string
}

func (c Config) validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("NodeName is required"))
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		errs = append(errs, errors.New("StateDir must be an absolute path"))
	}
	if c.ListenAddr == "" {
		errs = append(errs, errors.New("ListenAddr is required"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLSCertFile and TLSKeyFile go together"))
	}
	if c.APIServerHost == "" || c.APIServerPort <= 0 {
		errs = append(errs, errors.New("APIServerHost and APIServerPort are required"))
	}
	if c.SelfExe == "" || !filepath.IsAbs(c.SelfExe) {
		errs = append(errs, errors.New("SelfExe must be an absolute path"))
	}
	return errors.Join(errs...)
}

// listenPort returns the port of a host:port address.
func listenPort(addr string) (int32, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("parse listen address %q: %w", addr, err)
	}
	port, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("parse port of %q: %w", addr, err)
	}
	return int32(port), nil
}

// nodeCapacity is the fixed capacity (and allocatable) of the node.
func nodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("8"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// clientObjects implements objectReader with a clientset.
type clientObjects struct{ client kubernetes.Interface }

func (c clientObjects) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return c.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (c clientObjects) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return c.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

// mountsUnder lists the mount points at or below dir in this process's
// mount namespace.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
