package lintplan

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

// blueprintFiles expands paths into the files to lint, in order: a file is
// taken as it is; a directory gives its .yaml and .yml files whose kind is
// Blueprint, walked in lexical order, hidden directories skipped.
func blueprintFiles(paths []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if clean := filepath.Clean(f); !seen[clean] {
			seen[clean] = true
			out = append(out, f)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, cli.FileError(p, err)
		}
		if !info.IsDir() {
			add(p)
			continue
		}
		found, err := blueprintsIn(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no blueprints found (no .yaml or .yml file with kind: Blueprint)", p)
		}
		for _, f := range found {
			add(f)
		}
	}
	return out, nil
}

// blueprintsIn walks dir for blueprint files.
func blueprintsIn(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return cli.FileError(path, err)
		case d.IsDir() && path != dir && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case d.IsDir() || !slices.Contains([]string{".yaml", ".yml"}, filepath.Ext(path)):
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return cli.FileError(path, err)
		}
		if isBlueprint(data) {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

// kindLine finds a top-level kind: Blueprint in text YAML cannot parse.
var kindLine = regexp.MustCompile(`(?m)^kind:\s*["']?Blueprint["']?\s*(#.*)?$`)

// isBlueprint reports whether the first YAML document's kind is Blueprint.
// A file too broken to parse counts when a line says kind: Blueprint, so
// lint reports its syntax errors instead of skipping it.
func isBlueprint(data []byte) bool {
	var head struct {
		Kind string `yaml:"kind"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return kindLine.Match(data)
	}
	return head.Kind == "Blueprint"
}
