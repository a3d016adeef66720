package run

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// withTimeoutCause is context.WithTimeoutCause measured on clk, so that the
// phase, action and wrap-up bounds follow the Executor's clock (a fake one
// in tests) like every other time the engine reads. The context carries no
// deadline: no function reads one, and a fake clock has no wall time.
func withTimeoutCause(ctx context.Context, clk clock.Clock, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := clk.NewTimer(d)
	go func() {
		defer timer.Stop()
		select {
		case <-timer.C():
			cancel(cause)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}
