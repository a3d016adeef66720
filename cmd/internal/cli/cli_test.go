package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		args   []string
		code   int
		errOut string
	}{
		{"ok", nil, []string{"sub"}, ExitOK, ""},
		{"exit error", &ExitError{Code: ExitFindings, Err: errors.New("bad")}, []string{"sub"}, ExitFindings, "error: bad\n"},
		{"exit error already reported", &ExitError{Code: ExitFindings}, []string{"sub"}, ExitFindings, ""},
		{"usage error", Usagef("no %s", "thing"), []string{"sub"}, ExitUsage, "error: no thing\nRun 'root sub --help' for usage.\n"},
		{"other error", errors.New("io"), []string{"sub"}, ExitUsage, "error: io\n"},
		{"unknown command", nil, []string{"sbu"}, ExitUsage, "error: unknown command \"sbu\" for \"root\" (did you mean \"sub\"?)\nRun 'root --help' for usage.\n"},
		{"flag error", nil, []string{"sub", "--bad"}, ExitUsage, "error: unknown flag: --bad\nRun 'root sub --help' for usage.\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			root := SetupRoot(&cobra.Command{Use: "root"}, IOStreams{Out: &out, ErrOut: &errOut})
			root.AddCommand(&cobra.Command{Use: "sub", Args: UsageArgs(cobra.NoArgs), RunE: func(*cobra.Command, []string) error { return tc.err }})
			code := Run(context.Background(), root, tc.args, &errOut)
			if code != tc.code || errOut.String() != tc.errOut {
				t.Errorf("Run = %d, stderr %q; want %d, %q", code, errOut.String(), tc.code, tc.errOut)
			}
		})
	}
}

func TestParseYAML(t *testing.T) {
	got, err := ParseYAML([]byte("a: [1, x, 2.5, true]\nb: 2026-05-01T12:30:00Z\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{int64(1), "x", 2.5, true}, "b": "2026-05-01T12:30:00Z"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("ParseYAML (-got +want):\n%s", diff)
	}
	if _, err := ParseYAML([]byte("a: 1\n---\nb: 2\n")); err == nil {
		t.Error("ParseYAML of two documents: no error")
	}
	if v, err := ParseYAML(nil); v != nil || err != nil {
		t.Errorf("ParseYAML(nil) = %v, %v; want nil, nil", v, err)
	}
}
