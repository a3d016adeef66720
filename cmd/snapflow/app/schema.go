package app

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/jsonschema"
)

const schemaLong = `Print the JSON Schema (draft 2020-12) of blueprint files.

Editors that use yaml-language-server (VS Code with the YAML extension,
Neovim, Helix, ...) use it to complete field and function names, show the
documentation on hover, and flag unknown fields, unknown functions and
arguments of the wrong type as you type. Each function's arguments are
checked against its signature. The schema helps while writing; snapflow lint
remains the authority (it also type-checks the ${{ }} expressions).

Point a blueprint at the schema with a comment on its first line:

  # yaml-language-server: $schema=./blueprint.schema.json

` + cli.ExitCodesHelp

const schemaExample = `  # Write the schema next to your blueprints
  snapflow schema --output blueprints/blueprint.schema.json

  # Print it
  snapflow schema`

// SchemaOptions are the inputs of snapflow schema.
type SchemaOptions struct {
	cli.IOStreams
	deps   cli.Deps
	Output string // file to write; empty for standard output
}

// NewCmdSchema builds snapflow schema.
func NewCmdSchema(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	o := &SchemaOptions{IOStreams: streams, deps: deps}
	cmd := &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON Schema editors use to check blueprints",
		Long:    schemaLong,
		Example: schemaExample,
		Args:    cli.UsageArgs(cobra.NoArgs),
		RunE:    cli.RunE(o),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the schema to this file instead of standard output")
	return cmd
}

// Complete has nothing to take from the arguments.
func (o *SchemaOptions) Complete([]string) error { return nil }

// Validate has nothing to check: any path may be written.
func (o *SchemaOptions) Validate() error { return nil }

// Run generates the schema from the registry and writes it.
func (o *SchemaOptions) Run() error {
	var b bytes.Buffer
	if err := cli.WriteJSON(&b, jsonschema.Blueprint(o.deps.Registry)); err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("encode schema: %w", err)}
	}
	if o.Output == "" {
		if _, err := o.Out.Write(b.Bytes()); err != nil {
			return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("write schema: %w", err)}
		}
		return nil
	}
	if err := os.WriteFile(o.Output, b.Bytes(), 0o644); err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("write schema: %w", cli.FileError(o.Output, err))}
	}
	fmt.Fprintf(o.ErrOut, "wrote %s\n", o.Output)
	return nil
}
