package app

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/function"
)

const functionsLong = `Document the functions blueprint phases can call with func:.

For each function: what it does, its arguments (name, CEL type, required or
default, description), its outputs (which later phases read as
phases.<phase>.<output>) and the object types those use. The compiler checks
every blueprint against these signatures.

  text      for the terminal (default)
  markdown  a docs page
  json      for tools

` + cli.ExitCodesHelp

const functionsExample = `  # List every function
  snapflow functions

  # One function
  snapflow functions sleep

  # Regenerate the docs page
  snapflow functions --output markdown > docs/functions.md`

// FunctionsOptions are the inputs of snapflow functions.
type FunctionsOptions struct {
	cli.IOStreams
	deps   cli.Deps
	Name   string
	Output string
}

// NewCmdFunctions builds snapflow functions.
func NewCmdFunctions(deps cli.Deps, streams cli.IOStreams) *cobra.Command {
	o := &FunctionsOptions{IOStreams: streams, deps: deps, Output: "text"}
	cmd := &cobra.Command{
		Use:     "functions [NAME]",
		Aliases: []string{"function", "func"},
		Short:   "Document the functions blueprints can call",
		Long:    functionsLong,
		Example: functionsExample,
		Args:    cli.UsageArgs(cobra.MaximumNArgs(1)),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return deps.Registry.Names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: text, markdown or json")
	return cmd
}

// Complete takes the optional function name.
func (o *FunctionsOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Name = args[0]
	}
	return nil
}

// Validate checks the format and that the named function exists.
func (o *FunctionsOptions) Validate() error {
	if !slices.Contains([]string{"text", "markdown", "json"}, o.Output) {
		return cli.Usagef("--output must be text, markdown or json, got %q", o.Output)
	}
	if o.Name == "" {
		return nil
	}
	if _, ok := o.deps.Registry.Lookup(o.Name); !ok {
		names := o.deps.Registry.Names()
		return cli.Usagef("no function %q%s; `snapflow functions` lists them", o.Name, diag.Suggest(o.Name, names))
	}
	return nil
}

// Run prints the documentation.
func (o *FunctionsOptions) Run() error {
	names := o.deps.Registry.Names()
	if o.Name != "" {
		names = []string{o.Name}
	}
	docs := make([]funcDoc, 0, len(names))
	for _, n := range names {
		f, _ := o.deps.Registry.Lookup(n)
		docs = append(docs, docOf(f.Signature()))
	}
	var err error
	switch o.Output {
	case "json":
		err = cli.WriteJSON(o.Out, docs)
	case "markdown":
		err = writeMarkdown(o.Out, docs, o.Name == "")
	default:
		err = writeFunctionsText(o.Out, docs)
	}
	if err != nil {
		return &cli.ExitError{Code: cli.ExitUsage, Err: err}
	}
	return nil
}

// funcDoc is a function's documentation, from its Signature.
type funcDoc struct {
	Name    string      `json:"name"`
	Doc     string      `json:"doc"`
	Args    []argDoc    `json:"args"`
	Outputs []outputDoc `json:"outputs"`
	Objects []objectDoc `json:"objects,omitempty"`
}

type argDoc struct {
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Required bool          `json:"required"`
	Default  cli.JSONValue `json:"default,omitempty"`
	Doc      string        `json:"doc"`
}

type outputDoc struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Doc    string `json:"doc"`
	Secret bool   `json:"secret,omitempty"`
}

type objectDoc struct {
	Name   string     `json:"name"`
	Doc    string     `json:"doc"`
	Fields []fieldDoc `json:"fields"`
}

type fieldDoc struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

func docOf(sig function.Signature) funcDoc {
	d := funcDoc{Name: sig.Name, Doc: sig.Doc, Args: []argDoc{}, Outputs: []outputDoc{}}
	for _, a := range sig.Args {
		ad := argDoc{Name: a.Name, Type: celenv.TypeString(a.Type), Required: a.Required, Doc: a.Doc}
		if a.Default != nil {
			ad.Default = cli.MustJSON(a.Default)
		}
		d.Args = append(d.Args, ad)
	}
	for _, out := range sig.Outputs {
		d.Outputs = append(d.Outputs, outputDoc{Name: out.Name, Type: celenv.TypeString(out.Type), Doc: out.Doc, Secret: out.Secret})
	}
	for _, obj := range sig.Objects {
		od := objectDoc{Name: obj.Name, Doc: obj.Doc, Fields: []fieldDoc{}}
		for _, f := range obj.Fields {
			od.Fields = append(od.Fields, fieldDoc{Name: f.Name, Type: celenv.TypeString(f.Type), Doc: f.Doc})
		}
		d.Objects = append(d.Objects, od)
	}
	return d
}
