package compile

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden diagnostics in testdata/bad")

// TestDiagnostics compiles each testdata/bad/<category>.yaml and compares
// every diagnostic, with its exact position and message, to
// <category>.golden. Run with -update after a deliberate change, and review
// the diff.
func TestDiagnostics(t *testing.T) {
	c := fakeCompiler(t)
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, ds := c.File(filepath.Base(file), data)
			if p != nil || !ds.HasErrors() {
				t.Fatalf("compiled without errors; want errors")
			}
			got := strings.Join(ds.Strings(), "\n") + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiagnosticsLineBreaks compiles each testdata/bad/<category>.yaml with
// its line breaks turned into "\r\n" and into a lone "\r": every position
// must stay what <category>.golden says.
func TestDiagnosticsLineBreaks(t *testing.T) {
	c := fakeCompiler(t)
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test inputs: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		for _, br := range []string{"\r\n", "\r"} {
			name := strings.TrimSuffix(filepath.Base(file), ".yaml") + "/" + strconv.Quote(br)
			t.Run(name, func(t *testing.T) {
				in := strings.ReplaceAll(string(data), "\n", br)
				_, ds := c.File(filepath.Base(file), []byte(in))
				got := strings.Join(ds.Strings(), "\n") + "\n"
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("diagnostics (-want +got):\n%s", diff)
				}
			})
		}
	}
}
