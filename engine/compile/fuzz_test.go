package compile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

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
		lines := splitLines(data)
		for _, d := range ds {
			if !inside(d.Pos, lines) {
				t.Errorf("position %s outside the input (%d lines): %s", d.Pos, len(lines), d)
			}
		}
	})
}

// splitLines splits the input as diag.Pos counts lines: at "\n", "\r\n" or a
// lone "\r", in the text yaml.v3 reads (a file with a UTF-16 byte order mark
// decoded, a UTF-8 one dropped).
func splitLines(data []byte) []string {
	text, _, err := transform.String(unicode.BOMOverride(transform.Nop), string(data))
	if err != nil {
		text = string(data)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n")
}

// inside reports whether pos names a line of the input and a column (in
// characters) within it or just past its end; column 0 is unknown.
func inside(pos diag.Pos, lines []string) bool {
	if pos.Line < 1 || pos.Line > len(lines) {
		return false
	}
	return pos.Col >= 0 && pos.Col <= utf8.RuneCountInString(lines[pos.Line-1])+1
}
