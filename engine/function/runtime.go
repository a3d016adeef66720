package function

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Runtime is what one call of a function gets from the engine.
type Runtime struct {
	// Names derives deterministic names for what the function creates, so a
	// resumed phase adopts its objects instead of duplicating them.
	Names Names
	// Progress reports progress; never nil.
	Progress Progress
	// Cleanup registers a release the engine runs when the action ends,
	// fails or is cancelled, last registered first. The engine calls the
	// function's Release with the key. The key is recorded in status before
	// Cleanup returns, so a resumed run can still release it: register
	// before making what it undoes, and make nothing if it returns an
	// error. Never nil.
	Cleanup func(ctx context.Context, key string) error
	// Message sets the phase's status message; never nil.
	Message func(msg string)
	// Clock tells time; tests inject a fake one.
	Clock clock.Clock
	// Clients are the cluster clients; zero outside the controller.
	Clients Clients
	// Action is the run: the ActionSet's name, namespace (where its
	// Location lives) and UID.
	Action celenv.Action
	// Target is the object the ActionSet runs against, as its spec names
	// it with the namespace defaulted; an export records it in the
	// restore point.
	Target v1alpha1.ObjectReference
	// Location is the ActionSet's Location as the controller resolved it:
	// its spec and Secret references, never secret values; nil when the
	// ActionSet names none. CEL sees only the secret-free location variable.
	Location *v1alpha1.Location
	// Hold registers a cleanup that is a hold on the application, such as
	// a freeze. Besides the usual end-of-action release, the engine
	// releases every pending hold as soon as a later phase calls
	// ReleaseHolds. Recorded like Cleanup before it returns. Never nil.
	Hold func(ctx context.Context, key string) error
	// ReleaseHolds releases every pending hold now (a snapshot calls it
	// once its snapshots are cut) and returns how long the longest one was
	// held. Never nil.
	ReleaseHolds func(ctx context.Context) (time.Duration, error)
}

// Progress receives a function's progress.
type Progress interface {
	Report(v1alpha1.Progress)
}

// NoProgress discards progress.
type NoProgress struct{}

// Report implements Progress.
func (NoProgress) Report(v1alpha1.Progress) {}

// Names derives object names that stay the same across retries and resumes:
// they depend only on the ActionSet UID and the phase.
type Names struct {
	prefix string
	seed   string
}

// NewNames returns the names for one phase of one ActionSet.
func NewNames(actionSet, uid, phase string) Names {
	return Names{prefix: dnsLabel(actionSet + "-" + phase), seed: uid + "/" + phase}
}

// maxName is the length of a DNS-1123 label, the strictest Kubernetes name.
const maxName = 63

// Prefix is the phase's name prefix.
func (n Names) Prefix() string { return n.Name("") }

// Name is the name for the object the function calls suffix. It is a valid
// DNS-1123 label: readable parts, then a hash of the UID, phase and suffix
// that keeps it unique when the readable parts are truncated.
func (n Names) Name(suffix string) string {
	sum := sha256.Sum256([]byte(n.seed + "/" + suffix))
	hash := hex.EncodeToString(sum[:])[:8]
	readable := n.prefix
	if suffix != "" {
		readable += "-" + dnsLabel(suffix)
	}
	if room := maxName - len(hash) - 1; len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-")
	}
	return readable + "-" + hash
}

// dnsLabel lower-cases s and replaces what a DNS label cannot hold with '-'.
func dnsLabel(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}

// Function is a callable blueprint function. Implementations are stateless.
type Function interface {
	Signature() Signature
	// Invoke runs the function with args already checked against the
	// signature (defaults applied) and returns its outputs by name.
	Invoke(ctx context.Context, rt *Runtime, args map[string]any) (map[string]any, error)
	// Release undoes what a Cleanup(key) registration stands for.
	Release(ctx context.Context, rt *Runtime, key string) error
}
