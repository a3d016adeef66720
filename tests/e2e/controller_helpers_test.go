//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/engine/controller"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/functions"
	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// installCRDs installs every CRD in dir, each established before the next.
func installCRDs(ctx context.Context, dyn dynamic.Interface, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("find CRDs in %s: %v", dir, err)
	}
	for _, f := range files {
		if err := cluster.ApplyCRD(ctx, dyn, f); err != nil {
			return err
		}
	}
	return nil
}

// controllerNamespaces are the namespaces of the controller tests: the
// in-process controller watches only these, leaving other tests' ActionSets
// alone.
var controllerNamespaces = []string{"ctrl-run", "ctrl-invalid", "ctrl-cancel", "vol-sets", "vol-fail", "vol-clone", "exp-sets", "tenant-a", "ctrl-serial", "res-sets"}

var controllerOnce struct {
	sync.Once
	c   client.Client
	err error
}

// startController starts the ActionSet controller in this process once,
// for every test that needs it; TestMain stops it. It returns a client
// that knows snapflow's kinds.
func startController(t *testing.T) client.Client {
	t.Helper()
	controllerOnce.Do(func() {
		scheme, err := controller.Scheme()
		if err != nil {
			controllerOnce.err = err
			return
		}
		if controllerOnce.c, err = client.New(env.cfg, client.Options{Scheme: scheme}); err != nil {
			controllerOnce.err = err
			return
		}
		// The log still reaches stderr, and the secret scan reads it.
		klog.LogToStderr(false)
		klog.SetOutput(io.MultiWriter(os.Stderr, &env.controllerLog))
		ctrllog.SetLogger(klog.NewKlogr())
		bin, err := snapflowBinary() // mover pods run it on the process node
		if err != nil {
			controllerOnce.err = err
			return
		}
		reg, err := functions.Builtins()
		if err != nil {
			controllerOnce.err = err
			return
		}
		mgr, err := controller.NewManager(env.cfg, controller.Options{
			Registry: reg, Concurrency: 4, Namespaces: controllerNamespaces,
			Mover:                 function.Mover{Image: "snapflow", Command: []string{bin}},
			DefaultServiceAccount: controller.DefaultServiceAccountName,
			Locations:             controller.LocationPolicy{FilesystemPaths: []string{os.TempDir()}},
		})
		if err != nil {
			controllerOnce.err = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		env.stopController = func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "controller:", err)
			}
		}
	})
	if controllerOnce.err != nil {
		t.Fatalf("start controller: %v", controllerOnce.err)
	}
	return controllerOnce.c
}

// blueprint decodes a Blueprint from YAML into ns.
func blueprint(t *testing.T, ns, src string) *v1alpha1.Blueprint {
	t.Helper()
	bp := &v1alpha1.Blueprint{}
	if err := yaml.UnmarshalStrict([]byte(src), bp); err != nil {
		t.Fatal(err)
	}
	bp.Namespace = ns
	return bp
}

// actionSet builds an ActionSet running action of blueprint bp against a
// PersistentVolumeClaim.
func actionSet(ns, name, bp, action, claim string) *v1alpha1.ActionSet {
	return &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ActionSetSpec{
			Blueprint: v1alpha1.BlueprintReference{Name: bp},
			Action:    action,
			Object:    v1alpha1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: claim},
		},
	}
}

// waitActionSet polls the ActionSet until cond holds and returns it.
func waitActionSet(t *testing.T, c client.Client, key client.ObjectKey, what string, cond func(*v1alpha1.ActionSet) bool) *v1alpha1.ActionSet {
	t.Helper()
	as := &v1alpha1.ActionSet{}
	eventually(t, fmt.Sprintf("ActionSet %s %s", key, what), func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, as); err != nil {
			return false, err
		}
		return cond(as), nil
	})
	return as
}
