// Command snapflow compiles, checks and explains snapflow blueprints: see
// `snapflow --help`. The command line lives in package app.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/snapflow/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
