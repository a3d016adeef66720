// Package function is the contract between the engine and the functions
// blueprints call. The engine (compile, run, controller) depends on this
// package only; the built-ins live in functions/, which imports it, never
// the reverse, and cmd/ hands their Registry to the controller.
//
// A function author implements Function, usually as a Typed[A, O]: a
// Signature (args with CEL types, required or default, docs; outputs), a
// struct of typed args, a struct of outputs, and Run. The Signature is the
// single source for the compiler's checks, the docs and the JSON Schema.
// A new built-in is one file in functions/ and one line in
// functions.Builtins.
//
// What a function may rely on, and must do in return:
//   - Run gets args already checked against the Signature, defaults
//     applied, and converted strictly ("3" is not an int).
//   - Run may be called again for the same phase (retry, or resume after a
//     crash). It must be idempotent: name what it creates with
//     Runtime.Names, which depend only on the ActionSet UID and the phase,
//     and adopt what already exists.
//   - Whatever must be undone is registered with Runtime.Cleanup (or
//     Runtime.Hold for a freeze) before it is made; the engine calls
//     Release with the key when the action ends, fails or is cancelled,
//     also in a resumed run: the key is in status before Cleanup returns,
//     and a function makes nothing when Cleanup returns an error.
//   - Progress and Message report to the ActionSet's status; both are never
//     nil. Secret outputs never reach status, events or logs.
//   - An error wrapped with Permanent is not retried, whatever the phase's
//     retry policy; every other error is.
//   - Clients are passed in on the Runtime; a function never builds one.
package function
