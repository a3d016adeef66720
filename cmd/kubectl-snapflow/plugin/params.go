package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

// parseParams reads --param name=value flags. A value is read as YAML, as
// snapflow plan does: 3 is an int, true a bool, [a, b] a list, {k: v} a map,
// anything else a string. The last of repeated names wins.
func parseParams(flags []string) (map[string]apiextensionsv1.JSON, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]apiextensionsv1.JSON, len(flags))
	for _, p := range flags {
		name, text, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--param %q: want name=value", p)
		}
		v, err := yamlValue(text)
		if err != nil {
			return nil, fmt.Errorf("--param %s: %w", name, err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("--param %s: %w", name, err)
		}
		out[name] = apiextensionsv1.JSON{Raw: raw}
	}
	return out, nil
}

// yamlValue decodes one YAML value as `snapflow plan` does. An empty text
// is the empty string, not null.
func yamlValue(text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return text, nil
	}
	v, err := cli.ParseYAML([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("not a YAML value: %w", err)
	}
	return v, nil
}

// formatParams renders params as name=value, sorted, for describe.
func formatParam(raw apiextensionsv1.JSON) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw.Raw); err != nil {
		return string(raw.Raw)
	}
	return b.String()
}
