package lintplan

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/functions"
)

// now is the fake clock's time: action.startTime in plans.
var now = time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)

// result is what one in-process run of the CLI did.
type result struct {
	code        int
	out, errOut string
}

// snapflow runs lint or plan under a snapflow root with args in-process,
// with the builtin functions and a fake clock.
func snapflow(t *testing.T, args ...string) result {
	t.Helper()
	deps := testDeps(t)
	var out, errOut bytes.Buffer
	streams := cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := cli.SetupRoot(&cobra.Command{Use: "snapflow"}, streams)
	root.AddCommand(NewCmdLint(deps, streams), NewCmdPlan(deps, streams))
	code := cli.Run(context.Background(), root, args, &errOut)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// testDeps are the builtin functions with a fake clock.
func testDeps(t *testing.T) cli.Deps {
	t.Helper()
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := cli.NewDeps(reg, clocktesting.NewFakePassiveClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return deps
}

// check compares a run with what a test wants.
func check(t *testing.T, got, want result) {
	t.Helper()
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("snapflow (-got +want):\n%s", diff)
	}
}

// snapflowPlan compiles testdata/hello.yaml.
func snapflowPlan(t *testing.T) *plan.Blueprint {
	t.Helper()
	deps := testDeps(t)
	data, err := os.ReadFile("testdata/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bp, ds := deps.Compiler.File("testdata/hello.yaml", data)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return bp
}
