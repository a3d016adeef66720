// Command kubectl-snapflow is the snapflow kubectl plugin: installed on PATH
// it runs as `kubectl snapflow`. See `kubectl snapflow --help`; the commands
// live in package plugin.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := plugin.Main(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
