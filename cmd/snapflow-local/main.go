// Command snapflow-local runs a real Kubernetes on 127.0.0.1 from plain
// processes, for end-to-end tests, `make demo` and development: the control
// plane, the CSI snapshot stack, a node that runs pods as host processes,
// and Azurite. It also is the project's test CSI driver and that node.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// container-init runs in a fresh mount namespace before the
	// container's command replaces it; it needs no cobra, no context.
	if len(os.Args) > 1 && os.Args[1] == containerInitCmd {
		if err := containerInit(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "container-init:", err)
			os.Exit(127)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var exit exitCode
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		os.Exit(1)
	}
}

// exitCode lets a command choose its exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }
