// Package run executes a compiled action: phases in order, when-skips,
// per-phase and per-action timeouts, retries with backoff, cleanups run last
// registered first, finally phases that always run, progress, and a
// checkpoint after every phase from which a later run resumes without
// repeating finished phases.
//
// The executor calls functions through engine/function's contract only; it
// never imports the built-ins. A function error wrapped with
// function.Permanent fails the phase without retrying.
package run
