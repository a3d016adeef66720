package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/cel-go/cel"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/failpoint"
	"github.com/snapflow/snapflow/engine/function"
)

// Quiesce makes an application's volumes crash-consistent when the storage
// cannot: it freezes the app (a command in its container, or scaling it to
// zero) and holds the freeze as a lease. The engine releases the lease as
// soon as a later snapshot phase has cut its snapshots, and on any failure
// or cancel; for exec mode a watchdog in the container releases it after
// maxHold even if the controller dies.
func Quiesce() function.Function {
	return function.Typed[QuiesceArgs, QuiesceOutputs]{Sig: quiesceSignature, Run: runQuiesce, Rel: releaseQuiesce}
}

var quiesceSignature = function.Signature{
	Name: "quiesce",
	Doc:  "Freezes an application until the next snapshot is cut: a command in its container (exec) or scaling it to zero (scale).",
	Args: []function.Arg{
		{Name: "mode", Type: cel.StringType, Default: "exec", Doc: "exec runs command in a container; scale scales the workload to 0"},
		{Name: "namespace", Type: cel.StringType, Required: true, Doc: "namespace of the pod or workload"},
		{Name: "pod", Type: cel.StringType, Default: "", Doc: "exec: the pod to freeze"},
		{Name: "container", Type: cel.StringType, Default: "", Doc: "exec: the container; empty means the pod's first"},
		{Name: "command", Type: cel.ListType(cel.StringType), Default: []any{}, Doc: "exec: the freeze command, e.g. [fsfreeze, -f, /data]"},
		{Name: "releaseCommand", Type: cel.ListType(cel.StringType), Default: []any{}, Doc: "exec: undoes command; it must be harmless to run twice, since the watchdog and the engine may both run it"},
		{Name: "maxHold", Type: cel.DurationType, Default: "5m", Doc: "exec: the watchdog in the container runs releaseCommand after this long, if the engine has not"},
		{Name: "kind", Type: cel.StringType, Default: "", Doc: "scale: Deployment or StatefulSet"},
		{Name: "name", Type: cel.StringType, Default: "", Doc: "scale: the workload's name"},
		{Name: "timeout", Type: cel.DurationType, Default: "5m", Doc: "scale: how long scaling down, and back up on release, may take"},
	},
	Outputs: []function.Output{
		{Name: "mode", Type: cel.StringType, Doc: "the mode used"},
		{Name: "frozenAt", Type: cel.TimestampType, Doc: "when the freeze began"},
		{Name: "originalReplicas", Type: cel.IntType, Doc: "scale: the replicas restored on release; 0 for exec"},
	},
}

// QuiesceArgs are quiesce's arguments.
type QuiesceArgs struct {
	Mode           string          `json:"mode"`
	Namespace      string          `json:"namespace"`
	Pod            string          `json:"pod"`
	Container      string          `json:"container"`
	Command        []string        `json:"command"`
	ReleaseCommand []string        `json:"releaseCommand"`
	MaxHold        metav1.Duration `json:"maxHold"`
	Kind           string          `json:"kind"`
	Name           string          `json:"name"`
	Timeout        metav1.Duration `json:"timeout"`
}

// QuiesceOutputs are quiesce's outputs.
type QuiesceOutputs struct {
	Mode             string    `json:"mode"`
	FrozenAt         time.Time `json:"frozenAt"`
	OriginalReplicas int32     `json:"originalReplicas"`
}

// quiesceLease is the hold's cleanup key: everything release needs, so a
// controller that restarted mid-hold can still release it.
type quiesceLease struct {
	Mode      string   `json:"mode"`
	Namespace string   `json:"ns"`
	Pod       string   `json:"pod,omitempty"`
	Container string   `json:"container,omitempty"`
	Release   []string `json:"release,omitempty"`
	Watchdog  string   `json:"watchdog,omitempty"` // pid file in the container
	Kind      string   `json:"kind,omitempty"`
	Name      string   `json:"name,omitempty"`
	Replicas  int32    `json:"replicas,omitempty"`
	Timeout   string   `json:"timeout,omitempty"`
}

func runQuiesce(ctx context.Context, rt *function.Runtime, in QuiesceArgs) (QuiesceOutputs, error) {
	switch in.Mode {
	case "exec":
		return quiesceExec(ctx, rt, in)
	case "scale":
		return quiesceScale(ctx, rt, in)
	default:
		return QuiesceOutputs{}, function.Permanent(fmt.Errorf("mode %q is not one of exec, scale", in.Mode))
	}
}

func quiesceExec(ctx context.Context, rt *function.Runtime, in QuiesceArgs) (QuiesceOutputs, error) {
	switch {
	case in.Pod == "" || len(in.Command) == 0 || len(in.ReleaseCommand) == 0:
		return QuiesceOutputs{}, function.Permanent(errors.New("mode exec needs pod, command and releaseCommand"))
	case in.MaxHold.Duration < time.Second:
		return QuiesceOutputs{}, function.Permanent(fmt.Errorf("maxHold must be at least 1s, got %s", in.MaxHold.Duration))
	}
	if err := rt.Clients.Check(function.UsesKube | function.UsesExec); err != nil {
		return QuiesceOutputs{}, err
	}
	container, err := containerOf(ctx, rt, in.Namespace, in.Pod, in.Container)
	if err != nil {
		return QuiesceOutputs{}, err
	}
	lease := quiesceLease{Mode: "exec", Namespace: in.Namespace, Pod: in.Pod, Container: container,
		Release: in.ReleaseCommand, Watchdog: "/tmp/" + rt.Names.Name("watchdog") + ".pid"}
	// The watchdog starts before the freeze, so no moment exists in which
	// the app is frozen and nothing would thaw it.
	if err := execIn(ctx, rt, lease, watchdogCommand(lease, in.MaxHold.Duration)); err != nil {
		return QuiesceOutputs{}, fmt.Errorf("start the watchdog in %s/%s: %w", in.Namespace, in.Pod, err)
	}
	frozenAt := rt.Clock.Now()
	if err := holdLease(ctx, rt, lease); err != nil {
		return QuiesceOutputs{}, err
	}
	// A failed freeze needs no release here: the engine releases pending
	// holds as soon as the main phases stop.
	if err := execIn(ctx, rt, lease, in.Command); err != nil {
		return QuiesceOutputs{}, fmt.Errorf("freeze %s/%s container %s: %w", in.Namespace, in.Pod, container, err)
	}
	failpoint.Hit(failpoint.QuiesceFrozen)
	rt.Message(fmt.Sprintf("froze %s/%s; watchdog releases after %s", in.Namespace, in.Pod, in.MaxHold.Duration))
	return QuiesceOutputs{Mode: "exec", FrozenAt: frozenAt}, nil
}

func quiesceScale(ctx context.Context, rt *function.Runtime, in QuiesceArgs) (QuiesceOutputs, error) {
	if in.Kind == "" || in.Name == "" {
		return QuiesceOutputs{}, function.Permanent(errors.New("mode scale needs kind and name"))
	}
	if err := rt.Clients.Check(function.UsesKube); err != nil {
		return QuiesceOutputs{}, err
	}
	ref := workloadRef{Namespace: in.Namespace, Kind: in.Kind, Name: in.Name}
	replicas, err := currentReplicas(ctx, rt.Clients.Kube, ref)
	if err != nil {
		return QuiesceOutputs{}, err
	}
	frozenAt := rt.Clock.Now()
	lease := quiesceLease{Mode: "scale", Namespace: in.Namespace, Kind: in.Kind, Name: in.Name,
		Replicas: replicas, Timeout: in.Timeout.Duration.String()}
	if err := holdLease(ctx, rt, lease); err != nil {
		return QuiesceOutputs{}, err
	}
	if _, err := scaleTo(ctx, rt.Clients.Kube, ref, 0, in.Timeout.Duration); err != nil {
		return QuiesceOutputs{}, fmt.Errorf("scale %s %s/%s to 0: %w", in.Kind, in.Namespace, in.Name, err)
	}
	failpoint.Hit(failpoint.QuiesceScaled)
	rt.Message(fmt.Sprintf("scaled %s %s/%s to 0 from %d", in.Kind, in.Namespace, in.Name, replicas))
	return QuiesceOutputs{Mode: "scale", FrozenAt: frozenAt, OriginalReplicas: replicas}, nil
}

// holdLease records the lease as a hold before anything is frozen or
// scaled down: a crash in between leaves the original replica count, or
// the release command, in status for the restarted controller.
func holdLease(ctx context.Context, rt *function.Runtime, lease quiesceLease) error {
	key, err := json.Marshal(lease)
	if err != nil {
		return fmt.Errorf("encode lease: %w", err)
	}
	return rt.Hold(ctx, string(key))
}

// releaseQuiesce thaws what runQuiesce froze; it may run more than once.
func releaseQuiesce(ctx context.Context, rt *function.Runtime, key string) error {
	var lease quiesceLease
	if err := json.Unmarshal([]byte(key), &lease); err != nil {
		return function.Permanent(fmt.Errorf("lease %q: %w", key, err))
	}
	switch lease.Mode {
	case "exec":
		if err := rt.Clients.Check(function.UsesExec); err != nil {
			return err
		}
		if err := execIn(ctx, rt, lease, releaseCommand(lease)); err != nil {
			return fmt.Errorf("release %s/%s: %w", lease.Namespace, lease.Pod, err)
		}
	case "scale":
		if err := rt.Clients.Check(function.UsesKube); err != nil {
			return err
		}
		timeout, err := time.ParseDuration(lease.Timeout)
		if err != nil {
			return function.Permanent(fmt.Errorf("lease timeout %q: %w", lease.Timeout, err))
		}
		ref := workloadRef{Namespace: lease.Namespace, Kind: lease.Kind, Name: lease.Name}
		if _, err := scaleTo(ctx, rt.Clients.Kube, ref, lease.Replicas, timeout); err != nil {
			return fmt.Errorf("scale %s %s/%s back to %d: %w", lease.Kind, lease.Namespace, lease.Name, lease.Replicas, err)
		}
	default:
		return function.Permanent(fmt.Errorf("lease mode %q is not one of exec, scale", lease.Mode))
	}
	return nil
}

// watchdogCommand starts, detached from the exec session, a process that
// runs the release command after maxHold unless release kills it first.
// Arguments travel as positional parameters, never spliced into the script.
func watchdogCommand(l quiesceLease, maxHold time.Duration) []string {
	secs := strconv.Itoa(int(maxHold.Round(time.Second) / time.Second))
	script := `pidfile=$1; hold=$2; shift 2; (sleep "$hold"; "$@") </dev/null >/dev/null 2>&1 & echo $! > "$pidfile"`
	return append([]string{"sh", "-c", script, "snapflow-watchdog", l.Watchdog, secs}, l.Release...)
}

// releaseCommand stops the watchdog, then runs the release command.
func releaseCommand(l quiesceLease) []string {
	script := `pidfile=$1; shift; if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; fi; exec "$@"`
	return append([]string{"sh", "-c", script, "snapflow-release", l.Watchdog}, l.Release...)
}

// execIn runs argv in the lease's container, putting its stderr in the
// error so a failed freeze says why.
func execIn(ctx context.Context, rt *function.Runtime, l quiesceLease, argv []string) error {
	var stderr bytes.Buffer
	err := rt.Clients.Exec.Exec(ctx, function.ExecRequest{Namespace: l.Namespace, Pod: l.Pod, Container: l.Container,
		Command: argv, Stderr: &stderr})
	if err != nil && stderr.Len() > 0 {
		return fmt.Errorf("%w: %s", err, tail(stderr.String(), 512))
	}
	return err
}
