// Package functions holds the function registry and the built-in functions
// blueprints call. Each built-in lives in one file with its doc comment, its
// Signature (args with CEL types, defaults and docs; outputs), its typed
// args and outputs, and its Run. The Signature is the single source for the
// compiler's checks, `snapflow functions` and the JSON Schema.
//
// Functions are stateless values: everything per run (names, progress,
// cleanups, clients) arrives in a Runtime.
package functions
