package controller

import (
	"fmt"

	snapshotclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/snapflow/snapflow/engine/controller/podexec"
	"github.com/snapflow/snapflow/engine/function"
)

// NewClients builds the cluster clients functions call, all from one
// config so they share its rate limits and credentials.
func NewClients(cfg *rest.Config, mapper meta.RESTMapper) (function.Clients, error) {
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
