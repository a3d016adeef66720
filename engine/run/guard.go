package run

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/go-logr/logr"

	"github.com/snapflow/snapflow/engine/function"
)

// guard calls f, turning a panic into a permanent error that says what
// panicked: a bug in one function fails its phase, never the controller
// and the other runs in it. The stack goes to the log, not to status.
func guard(ctx context.Context, what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			logr.FromContextOrDiscard(ctx).Error(fmt.Errorf("%v", v), what+" panicked", "stack", string(debug.Stack()))
			err = function.Permanent(fmt.Errorf("%s panicked: %v", what, v))
		}
	}()
	return f()
}
