// Package functions holds the built-in functions blueprints call, written
// against the contract in engine/function. Each built-in lives in one file
// with its doc comment, its Signature (args with CEL types, defaults and
// docs; outputs), its typed args and outputs, and its Run; Builtins lists
// them. The Signature is the single source for the compiler's checks,
// `snapflow functions` and the JSON Schema.
//
// A new function is one file here and one line in Builtins. It may import
// engine/function, engine/celenv, schema/ and the packages under functions/
// (kopia, mover); nothing under engine/ imports this package.
//
// Functions are stateless values: everything per run (names, progress,
// cleanups, clients) arrives in a function.Runtime.
package functions
