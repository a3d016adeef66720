package controller

import (
	"cmp"
	"errors"
	"fmt"
	"sync"

	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/snapflow/snapflow/engine/controller/podexec"
	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// ClientsFor returns the clients a run calls, acting as the ServiceAccount
// namespace/name: every request they make impersonates it, so the API
// server's RBAC decides what an ActionSet may do, not the controller's role.
type ClientsFor func(namespace, name string) (function.Clients, error)

// NewClientsFor builds impersonating clients from cfg, one set per
// ServiceAccount, kept for later runs. Transports are shared: client-go
// caches them by TLS config, and impersonation is a header on top.
func NewClientsFor(cfg *rest.Config, mapper meta.RESTMapper) ClientsFor {
	var mu sync.Mutex
	built := map[string]function.Clients{}
	return func(namespace, name string) (function.Clients, error) {
		user := serviceaccount.MakeUsername(namespace, name)
		mu.Lock()
		defer mu.Unlock()
		if c, ok := built[user]; ok {
			return c, nil
		}
		as := rest.CopyConfig(cfg)
		as.Impersonate = rest.ImpersonationConfig{UserName: user}
		c, err := newClients(as, mapper)
		if err != nil {
			return function.Clients{}, fmt.Errorf("clients for %s: %w", user, err)
		}
		built[user] = c
		return c, nil
	}
}

// runClients are the clients as's run acts through: its ServiceAccount's,
// or the controller's default's, carrying the controller's mover.
func (r *Reconciler) runClients(as *v1alpha1.ActionSet) (function.Clients, error) {
	sa := cmp.Or(as.Spec.ServiceAccountName, r.defaultServiceAccount)
	if sa == "" {
		return function.Clients{}, function.Permanent(errors.New("spec.serviceAccountName is empty and the controller has no --default-service-account: " +
			"name the ServiceAccount the run acts as (`kubectl snapflow rbac` prints the Role it needs)"))
	}
	c, err := r.clientsFor(as.Namespace, sa)
	if err != nil {
		return function.Clients{}, err
	}
	c.Mover = r.mover
	c.Azure = r.azure
	return c, nil
}

// newClients builds the cluster clients functions call, all from one
// config so they share its rate limits and credentials.
func newClients(cfg *rest.Config, mapper meta.RESTMapper) (function.Clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return function.Clients{}, fmt.Errorf("kubernetes client: %w", err)
	}
	snaps, err := snapshotclient.NewForConfig(cfg)
	if err != nil {
		return function.Clients{}, fmt.Errorf("snapshot client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return function.Clients{}, fmt.Errorf("dynamic client: %w", err)
	}
	return function.Clients{
		Kube: kube, Snapshots: snaps, Dynamic: dyn, Mapper: mapper,
		Exec: podexec.New(cfg, kube),
	}, nil
}
