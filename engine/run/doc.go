// Package run executes a compiled action: phases in order, when-skips,
// per-phase and per-action timeouts, retries with backoff, cleanups run last
// registered first, finally phases that always run, progress, and a
// checkpoint after every phase from which a later run resumes without
// repeating finished phases.
package run
