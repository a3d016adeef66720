package lintplan

import (
	"fmt"
	"os"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

// readYAMLMap reads a file holding one YAML (or JSON) mapping; what names
// the file's role in errors.
func readYAMLMap(path, what string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, cli.FileError(path, err))
	}
	v, err := cli.ParseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s: must be a YAML mapping", what, path)
	}
	return m, nil
}
