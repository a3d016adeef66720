// Command kubectl-snapflow is the snapflow kubectl plugin: installed on PATH
// it runs as `kubectl snapflow`. See `kubectl snapflow --help`; the commands
// live in package plugin.
package main

import (
	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/cmd/kubectl-snapflow/plugin"
)

func main() { cli.Exit(plugin.Main) }
