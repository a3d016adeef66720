package lintplan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

const badDiagnostics = `testdata/bad.yaml:10:15: spec.actions.backup.phases[0].func: unknown function "lg" (did you mean "log"?); ` + "`snapflow functions`" + ` lists them
testdata/bad.yaml:16:44: spec.actions.backup.phases[1].args.duration: found no matching overload for '_+_' applied to '(int, string)'
`

func TestLint(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want result
	}{
		{"clean file", []string{"testdata/hello.yaml"},
			result{code: cli.ExitOK, errOut: "ok: 1 blueprint\n"}},
		{"bad file", []string{"testdata/bad.yaml"},
			result{code: cli.ExitFindings, out: badDiagnostics, errOut: "2 errors in 1 of 1 file\n"}},
		{"bad and clean files", []string{"testdata/bad.yaml", "testdata/hello.yaml"},
			result{code: cli.ExitFindings, out: badDiagnostics, errOut: "2 errors in 1 of 2 files\n"}},
		{"a named file is linted whatever its kind", []string{"testdata/deployment.yaml"},
			result{code: cli.ExitFindings, out: `testdata/deployment.yaml:1:13: apiVersion: got "apps/v1", expected "snapflow.dev/v1alpha1"` + "\n" +
				`testdata/deployment.yaml:2:7: kind: not a Blueprint: got kind "Deployment", expected "Blueprint"` + "\n",
				errOut: "2 errors in 1 of 1 file\n"}},
		{"missing file", []string{"testdata/hello.yaml", "testdata/nope.yaml"},
			result{code: cli.ExitUsage, errOut: "error: testdata/nope.yaml: no such file or directory\n"}},
		{"dir skips other kinds and hidden dirs", []string{"testdata/lintdir"},
			result{code: cli.ExitOK, errOut: "ok: 2 blueprints\n"}},
		{"a file given twice is linted once", []string{"testdata/lintdir", "testdata/lintdir/blueprint.yaml"},
			result{code: cli.ExitOK, errOut: "ok: 2 blueprints\n"}},
		{"no paths", nil,
			result{code: cli.ExitUsage, errOut: "error: name at least one blueprint file or directory\nRun 'snapflow lint --help' for usage.\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, snapflow(t, append([]string{"lint"}, tc.args...)...), tc.want)
		})
	}
}

func TestLintDirWithoutBlueprints(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("kind: Deployment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(t, snapflow(t, "lint", dir), result{code: cli.ExitUsage,
		errOut: "error: " + dir + ": no blueprints found (no .yaml or .yml file with kind: Blueprint)\n"})
}

func TestBlueprintFiles(t *testing.T) {
	got, err := blueprintFiles([]string{"testdata/lintdir"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"testdata/lintdir/apps/other.yml", "testdata/lintdir/blueprint.yaml"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("files (-got +want):\n%s", diff)
	}
}

func TestIsBlueprint(t *testing.T) {
	cases := []struct {
		name, data string
		want       bool
	}{
		{"blueprint", "apiVersion: snapflow.dev/v1alpha1\nkind: Blueprint\n", true},
		{"quoted kind", "kind: \"Blueprint\"\n", true},
		{"other kind", "kind: ActionSet\n", false},
		{"broken YAML that says Blueprint", "kind: Blueprint\nspec: [oops\n", true},
		{"broken YAML", "spec: [oops\n", false},
		{"nested kind only", "spec:\n  kind: Blueprint\n", false},
		{"list", "- kind: Blueprint\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isBlueprint([]byte(tc.data)); got != tc.want {
				t.Errorf("isBlueprint = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLintSummary(t *testing.T) {
	cases := []struct {
		errs, warns, bad, files int
		want                    string
	}{
		{0, 0, 0, 1, "ok: 1 blueprint"},
		{0, 0, 0, 3, "ok: 3 blueprints"},
		{0, 2, 0, 3, "ok: 3 blueprints (2 warnings)"},
		{1, 0, 1, 1, "1 error in 1 of 1 file"},
		{2, 1, 1, 3, "2 errors in 1 of 3 files (1 warning)"},
	}
	for _, tc := range cases {
		if got := lintSummary(tc.errs, tc.warns, tc.bad, tc.files); got != tc.want {
			t.Errorf("lintSummary(%d, %d, %d, %d) = %q, want %q", tc.errs, tc.warns, tc.bad, tc.files, got, tc.want)
		}
	}
}
