package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/snapflow/snapflow/engine/celenv"
	"io"
)

// jsonValue is a value rendered as compact JSON.
type jsonValue = json.RawMessage

// toJSON renders an evaluated value as compact JSON: durations as their
// String ("1m30s"), timestamps as RFC 3339, bytes as base64.
func toJSON(v any) (jsonValue, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(celenv.JSON(v)); err != nil {
		return nil, fmt.Errorf("render value as JSON: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// mustJSON renders values that are JSON by construction (bound params,
// booleans); one that is not renders as its error text.
func mustJSON(v any) jsonValue {
	out, err := toJSON(v)
	if err != nil {
		out, _ = toJSON(err.Error())
	}
	return out
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
