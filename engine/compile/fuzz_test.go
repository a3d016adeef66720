package compile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapflow/snapflow/engine/diag"
)

// FuzzCompile decodes and compiles arbitrary input. It must never panic,
// and every diagnostic must point inside the input. The seeds are the
// compiler's test blueprints and the library; testdata/fuzz holds the
// checked-in corpus.
func FuzzCompile(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "testdata/bad/*.yaml", "../../blueprints/*/blueprint.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	c := fakeCompiler(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, ds := c.File("fuzz.yaml", data)
		lines := strings.Split(string(data), "\n")
		for _, d := range ds {
			if !inside(d.Pos, lines) {
				t.Errorf("position %s outside the input (%d lines): %s", d.Pos, len(lines), d)
			}
		}
	})
}

// inside reports whether pos names a line of the input and a column within
// it (or just past its end).
func inside(pos diag.Pos, lines []string) bool {
	if pos.Line < 1 || pos.Line > len(lines) {
		return false
	}
	return pos.Col >= 0 && pos.Col <= len(lines[pos.Line-1])+1
}
