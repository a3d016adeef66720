package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/functions"
)

// now is the fake clock's time: action.startTime in plans.
var now = time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)

// result is what one in-process run of the CLI did.
type result struct {
	code        int
	out, errOut string
}

// snapflow runs the CLI with args in-process, with the builtin functions and a
// fake clock.
func snapflow(t *testing.T, args ...string) result {
	t.Helper()
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := cli.NewDeps(reg, clocktesting.NewFakePassiveClock(now))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	streams := cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cli.Run(context.Background(), NewCmdRoot(deps, streams), args, &errOut)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// check compares a run with what a test wants.
func check(t *testing.T, got, want result) {
	t.Helper()
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("snapflow (-got +want):\n%s", diff)
	}
}

func TestRoot(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		out  string // part of stdout
		err  string // all of stderr
	}{
		{"help explains snapflow and exit codes", []string{"--help"}, cli.ExitOK, "Exit codes:\n  0  ok\n", ""},
		{"no command prints help", nil, cli.ExitOK, "snapflow is a Kubernetes-native workflow engine", ""},
		{"unknown command", []string{"lnt"}, cli.ExitUsage, "",
			"error: unknown command \"lnt\" for \"snapflow\" (did you mean \"lint\"?)\nRun 'snapflow --help' for usage.\n"},
		{"unknown flag", []string{"lint", "--bad"}, cli.ExitUsage, "",
			"error: unknown flag: --bad\nRun 'snapflow lint --help' for usage.\n"},
		{"subcommand help has examples", []string{"plan", "--help"}, cli.ExitOK, "snapflow plan blueprint.yaml --action backup --object db.yaml", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := snapflow(t, tc.args...)
			if got.code != tc.code || !strings.Contains(got.out, tc.out) || got.errOut != tc.err {
				t.Errorf("snapflow %s = %d\nstdout:\n%s\nstderr:\n%s\nwant %d, stdout containing %q, stderr %q",
					strings.Join(tc.args, " "), got.code, got.out, got.errOut, tc.code, tc.out, tc.err)
			}
		})
	}
}
