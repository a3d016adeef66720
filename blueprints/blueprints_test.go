// Package blueprints holds the shareable blueprint library; its test
// compiles every blueprint against the built-in functions.
package blueprints

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/functions"
)

func TestLibraryCompiles(t *testing.T) {
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*/blueprint.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no blueprints found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Dir(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, ds := c.File(f, data); ds.HasErrors() {
				t.Fatalf("does not compile:\n%v", ds.Err())
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), "README.md")); err != nil {
				t.Errorf("missing README.md: %v", err)
			}
		})
	}
}
