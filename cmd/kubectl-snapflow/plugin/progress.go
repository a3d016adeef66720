package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// humanBytes renders n bytes in IEC units with one decimal: 512 B,
// 1.5 KiB, 2.0 GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressText is "45%  1.2 GiB / 2.7 GiB": the percent, then the bytes
// moved, out of the total when it is known.
func progressText(p v1alpha1.Progress) string {
	s := fmt.Sprintf("%d%%", p.Percent)
	switch {
	case p.BytesTotal > 0:
		s += fmt.Sprintf("  %s / %s", humanBytes(p.BytesDone), humanBytes(p.BytesTotal))
	case p.BytesDone > 0:
		s += "  " + humanBytes(p.BytesDone)
	}
	return s
}

// progressLine is the live line --wait shows, e.g.
// "Running  phase copy  45%  1.2 GiB / 2.7 GiB".
func progressLine(as *v1alpha1.ActionSet) string {
	state := string(as.Status.State)
	if state == "" {
		state = string(v1alpha1.ActionSetPending)
	}
	parts := []string{state}
	if as.Status.CurrentPhase != "" {
		parts = append(parts, "phase "+as.Status.CurrentPhase)
	}
	if as.Status.State != "" && as.Status.State != v1alpha1.ActionSetPending {
		parts = append(parts, progressText(as.Status.Progress))
	}
	return strings.Join(parts, "  ")
}

// outcome is nil for a succeeded ActionSet, else the error that says in
// which phase it failed and why.
func outcome(as *v1alpha1.ActionSet) error {
	if as.Status.State == v1alpha1.ActionSetSucceeded {
		return nil
	}
	verb := "failed"
	if as.Status.State == v1alpha1.ActionSetCancelled {
		verb = "was cancelled"
	}
	msg := fmt.Sprintf("actionset %s %s", as.Name, verb)
	phaseMsg := ""
	for i := len(as.Status.Phases) - 1; i >= 0; i-- {
		if p := as.Status.Phases[i]; p.State == v1alpha1.PhaseFailed {
			msg += " in phase " + p.Name
			phaseMsg = p.Message
			break
		}
	}
	switch {
	case as.Status.Message != "":
		msg += ": " + as.Status.Message
	case phaseMsg != "":
		msg += ": " + phaseMsg
	}
	return errors.New(msg)
}

// liveLine writes a line that a terminal updates in place; elsewhere each
// change is a new line.
type liveLine struct {
	out  io.Writer
	tty  bool
	last string
}

func (l *liveLine) update(line string) {
	if line == l.last {
		return
	}
	if l.tty {
		fmt.Fprintf(l.out, "\r\x1b[K%s", line)
	} else {
		fmt.Fprintln(l.out, line)
	}
	l.last = line
}

// done ends the line on a terminal.
func (l *liveLine) done() {
	if l.tty && l.last != "" {
		fmt.Fprintln(l.out)
	}
}

// waitFor follows the ActionSet name until it reaches a final state or
// timeout passes, showing its progress on out. It returns nil if it
// succeeded, an ExitFailed error otherwise.
func waitFor(ctx context.Context, c clients, name string, out io.Writer, tty bool, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	line := &liveLine{out: out, tty: tty}
	as, err := follow(ctx, c, name, line)
	line.done()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return failed(fmt.Errorf("timed out after %s waiting for actionset %s", timeout, name))
	case err != nil:
		return err
	}
	if err := outcome(as); err != nil {
		return failed(err)
	}
	fmt.Fprintf(out, "actionset %s succeeded\n", name)
	return nil
}

// follow gets, then watches, the ActionSet until its state is final; a
// watch that ends is started again from the last state seen.
func follow(ctx context.Context, c clients, name string, line *liveLine) (*v1alpha1.ActionSet, error) {
	for {
		as, err := c.getActionSet(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		line.update(progressLine(as))
		if as.Status.State.Final() {
			return as, nil
		}
		w, err := c.actionSets(c.namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: as.ResourceVersion,
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("watch actionset %s: %w", name, err)
		}
		as, err = watchUntilFinal(ctx, w, name, line)
		w.Stop()
		if as != nil || err != nil {
			return as, err
		}
		select { // the watch ended or failed: pause, then get again
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// watchUntilFinal reads events until the ActionSet is final (returned),
// the watch ends (nil, nil) or ctx is done.
func watchUntilFinal(ctx context.Context, w watch.Interface, name string, line *liveLine) (*v1alpha1.ActionSet, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			u, isObj := ev.Object.(*unstructured.Unstructured)
			switch {
			case ev.Type == watch.Error || !isObj:
				return nil, nil // start again with a get
			case u.GetName() != name:
				continue
			case ev.Type == watch.Deleted:
				return nil, fmt.Errorf("actionset %s was deleted", name)
			}
			as, err := fromUnstructured(u)
			if err != nil {
				return nil, err
			}
			line.update(progressLine(as))
			if as.Status.State.Final() {
				return as, nil
			}
		}
	}
}
