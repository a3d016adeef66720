package function_test

import (
	"context"
	"fmt"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/function"
)

// GreetArgs and GreetOutputs are the typed args and outputs of greet; their
// JSON names match the Signature, which NewRegistry checks.
type GreetArgs struct {
	Name string `json:"name"`
}

type GreetOutputs struct {
	Greeting string `json:"greeting"`
}

// Greet is what a new built-in in functions/greet.go looks like; listing
// Greet() in functions.Builtins makes blueprints able to call it.
func Greet() function.Function {
	return function.Typed[GreetArgs, GreetOutputs]{
		Sig: function.Signature{
			Name: "greet",
			Doc:  "Greets someone.",
			Args: []function.Arg{
				{Name: "name", Type: cel.StringType, Required: true, Doc: "who to greet"},
			},
			Outputs: []function.Output{
				{Name: "greeting", Type: cel.StringType, Doc: "the greeting"},
			},
		},
		Run: func(_ context.Context, rt *function.Runtime, in GreetArgs) (GreetOutputs, error) {
			msg := "hello " + in.Name
			rt.Message(msg)
			return GreetOutputs{Greeting: msg}, nil
		},
	}
}

func Example() {
	reg, err := function.NewRegistry(Greet())
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := reg.Lookup("greet")
	rt := &function.Runtime{Message: func(string) {}, Progress: function.NoProgress{}}
	out, err := f.Invoke(context.Background(), rt, map[string]any{"name": "db-0"})
	fmt.Println(reg.Names(), out["greeting"], err)
	// Output: [greet] hello db-0 <nil>
}
