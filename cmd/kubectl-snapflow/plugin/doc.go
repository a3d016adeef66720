// Package plugin is the kubectl snapflow plugin: one file per subcommand
// (backup, restore, get, describe, logs, cancel, plus lint and plan from
// the snapflow CLI). Each subcommand has an Options type with Complete,
// Validate and Run, in the style of kubernetes/sample-cli-plugin. Streams,
// the cluster clients (through a Factory), the clock and the terminal check
// are injected, so tests run commands in-process against client-go's fake
// dynamic client.
package plugin
