package function

import (
	"context"
	"errors"
)

// ErrInterrupted is the cause of a call's context when the controller
// stops, as in a rolling update: the run resumes in the next controller,
// which calls the phase again. A call stopped by it leaves what it made
// for that call to adopt, instead of rolling it back.
var ErrInterrupted = errors.New("the controller is stopping; the run resumes in the next one")

// Interrupted reports whether ctx ended because the controller is stopping.
func Interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrInterrupted)
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the engine fails the phase at
// once, whatever its retry policy. Modelled on controller-runtime's
// reconcile.TerminalError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
