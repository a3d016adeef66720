package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

// funcEnum digs the func enum out of a generated schema.
func funcEnum(t *testing.T, data []byte) []string {
	t.Helper()
	var s struct {
		Defs struct {
			Phase struct {
				Properties struct {
					Func struct {
						Enum []string `json:"enum"`
					} `json:"func"`
				} `json:"properties"`
			} `json:"phase"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s.Defs.Phase.Properties.Func.Enum
}

func TestSchema(t *testing.T) {
	got := snapflow(t, "schema")
	if got.code != cli.ExitOK || got.errOut != "" {
		t.Fatalf("code = %d, stderr:\n%s", got.code, got.errOut)
	}
	if diff := cmp.Diff(funcEnum(t, []byte(got.out)), builtinNames(t)); diff != "" {
		t.Errorf("func enum (-got +want):\n%s", diff)
	}

	file := filepath.Join(t.TempDir(), "blueprint.schema.json")
	check(t, snapflow(t, "schema", "--output", file), result{code: cli.ExitOK, errOut: "wrote " + file + "\n"})
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != got.out {
		t.Errorf("file and standard output differ")
	}

	missing := filepath.Join(t.TempDir(), "nope", "s.json")
	check(t, snapflow(t, "schema", "-o", missing), result{code: cli.ExitUsage,
		errOut: "error: write schema: " + missing + ": no such file or directory\n"})
}
