package function

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Clients are the cluster clients functions call. The controller builds
// them once and hands them to the executor, which passes them on in every
// Runtime; unit tests pass fakes. lint and plan never run functions, so
// they have none.
type Clients struct {
	Kube      kubernetes.Interface
	Snapshots snapshotclient.Interface // VolumeSnapshots, contents, classes and groups
	Dynamic   dynamic.Interface        // any object by GVR, for wait
	Mapper    meta.RESTMapper          // kind to resource, for wait
	Exec      PodExec                  // commands in running containers
	Mover     Mover                    // how to start snapflow in mover pods
	Azure     AzureCloud               // where Azure's APIs are, for crossRegionCopy
}

// AzureCloud says where the Azure cloud's APIs are: the public cloud by
// default; a sovereign cloud, or a local stand-in in tests, otherwise.
// Credentials are not here: each run brings its own.
type AzureCloud struct {
	// ResourceManager is the Azure Resource Manager endpoint; empty means
	// the public cloud's.
	ResourceManager string
	// Audience is the token audience for ResourceManager; empty means the
	// public cloud's.
	Audience string
	// AuthorityHost is the Microsoft Entra ID endpoint credentials get
	// tokens from; empty means the public cloud's.
	AuthorityHost string
	// AllowHTTP lets credentials travel over plain HTTP: for a local
	// stand-in only.
	AllowHTTP bool
	// HTTPClient sends the requests; nil means the SDK's default. The
	// controller sets one that trusts --azure-ca-file.
	HTTPClient *http.Client
}

// Mover says how export and restore start snapflow in a mover pod: the
// image, and the command that runs the snapflow binary in it.
type Mover struct {
	Image   string
	Command []string
}

// PodExec runs a command in a container of a running pod, as kubectl exec
// does. An exit code other than 0 is an error wrapping an ExitError.
type PodExec interface {
	Exec(ctx context.Context, req ExecRequest) error
}

// ExecRequest is one command to run in a container.
type ExecRequest struct {
	Namespace, Pod, Container string
	Command                   []string
	Stdin                     io.Reader // nil for none
	Stdout, Stderr            io.Writer // nil discards
}

// ExitError is a command that ran and exited with a non-zero code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "command exited with code " + strconv.Itoa(e.Code) }

// Uses names the clients a function calls, for Clients.Check.
type Uses int

// The clients a function can use.
const (
	UsesKube Uses = 1 << iota
	UsesSnapshots
	UsesDynamic
	UsesExec
)

// Check returns a permanent error unless every client in uses is set, so a
// function run without its clients fails clearly instead of panicking.
func (c Clients) Check(uses Uses) error {
	missing := (uses&UsesKube != 0 && c.Kube == nil) ||
		(uses&UsesSnapshots != 0 && c.Snapshots == nil) ||
		(uses&UsesDynamic != 0 && (c.Dynamic == nil || c.Mapper == nil)) ||
		(uses&UsesExec != 0 && c.Exec == nil)
	if missing {
		return Permanent(errors.New("no cluster clients: this function runs only in the controller"))
	}
	return nil
}
