package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/snapflow/snapflow/engine/celenv"
)

// JSONValue is a value rendered as compact JSON.
type JSONValue = json.RawMessage

// ToJSON renders an evaluated value as compact JSON: durations as their
// String ("1m30s"), timestamps as RFC 3339, bytes as base64.
func ToJSON(v any) (JSONValue, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(celenv.JSON(v)); err != nil {
		return nil, fmt.Errorf("render value as JSON: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// MustJSON renders values that are JSON by construction (bound params,
// booleans); one that is not renders as its error text.
func MustJSON(v any) JSONValue {
	out, err := ToJSON(v)
	if err != nil {
		out, _ = ToJSON(err.Error())
	}
	return out
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
