// Command snapflow compiles, checks and explains snapflow blueprints: see
// `snapflow --help`. The command line lives in package app.
package main

import (
	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/snapflow/app"
)

func main() { cli.Exit(app.Main) }
