// Package podexec runs commands in the containers of running pods, as
// kubectl exec does, over the apiserver's pods/exec subresource. It
// implements function.PodExec for the controller.
package podexec

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/snapflow/snapflow/engine/function"
)

// Client runs commands in containers. It is safe for concurrent use.
type Client struct {
	cfg  *rest.Config
	kube kubernetes.Interface
}

var _ function.PodExec = (*Client)(nil)

// New returns a Client that builds exec requests with kube and streams
// them with cfg's transport and credentials.
func New(cfg *rest.Config, kube kubernetes.Interface) *Client {
	return &Client{cfg: cfg, kube: kube}
}

// Exec implements function.PodExec. It speaks SPDY, which every kubelet
// serves (some serve only the v4 remote-command protocol over it); a
// non-zero exit is returned as a *function.ExitError.
func (c *Client) Exec(ctx context.Context, req function.ExecRequest) error {
	// Always ask for stdout and stderr: the kubelet refuses an exec
	// without any stream, and a nil writer here just discards.
	opts := &corev1.PodExecOptions{
		Container: req.Container,
		Command:   req.Command,
		Stdin:     req.Stdin != nil,
		Stdout:    true,
		Stderr:    true,
	}
	u := c.kube.CoreV1().RESTClient().Post().
		Namespace(req.Namespace).Resource("pods").Name(req.Pod).SubResource("exec").
		VersionedParams(opts, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewSPDYExecutor(c.cfg, "POST", u)
	if err != nil {
		return fmt.Errorf("exec in pod %s/%s: %w", req.Namespace, req.Pod, err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{
		Stdin:  req.Stdin,
		Stdout: orDiscard(req.Stdout),
		Stderr: orDiscard(req.Stderr),
	})
	return exitError(err)
}

// exitError maps client-go's exit error to function.ExitError, so callers
// need not know the transport.
func exitError(err error) error {
	if err == nil {
		return nil
	}
	var ee utilexec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return &function.ExitError{Code: ee.ExitStatus()}
	}
	return err
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
