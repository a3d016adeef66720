package plugin

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// Factory gives the commands their namespace and cluster client.
type Factory interface {
	// Namespace is the namespace to work in: --namespace, else the
	// kubeconfig context's.
	Namespace() (string, error)
	// Dynamic is a client for the cluster.
	Dynamic() (dynamic.Interface, error)
}

// NewFactory returns a Factory that reads kubectl's flags.
func NewFactory(flags *genericclioptions.ConfigFlags) *ConfigFactory {
	return &ConfigFactory{flags: flags}
}

// ConfigFactory is a Factory that reads kubectl's flags.
type ConfigFactory struct {
	flags *genericclioptions.ConfigFlags
}

// Namespace is --namespace, else the namespace of the kubeconfig context.
func (f *ConfigFactory) Namespace() (string, error) {
	ns, _, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	return ns, nil
}

// Dynamic is a dynamic client for the chosen cluster.
func (f *ConfigFactory) Dynamic() (dynamic.Interface, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	return dynamic.NewForConfig(cfg)
}

// Resources the plugin reads and writes.
var (
	actionSetsGVR = v1alpha1.SchemeGroupVersion.WithResource("actionsets")
	eventsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "events"}
)

// clients is what a command resolved from the Factory.
type clients struct {
	namespace string
	dyn       dynamic.Interface
}

func newClients(f Factory) (clients, error) {
	ns, err := f.Namespace()
	if err != nil {
		return clients{}, err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return clients{}, err
	}
	return clients{namespace: ns, dyn: dyn}, nil
}

func (c clients) actionSets(ns string) dynamic.ResourceInterface {
	return c.dyn.Resource(actionSetsGVR).Namespace(ns)
}

// getActionSet reads one ActionSet.
func (c clients) getActionSet(ctx context.Context, name string) (*v1alpha1.ActionSet, error) {
	u, err := c.actionSets(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get actionset %s: %w", name, err)
	}
	return fromUnstructured(u)
}

// createActionSet creates as and returns what the server stored.
func (c clients) createActionSet(ctx context.Context, as *v1alpha1.ActionSet) (*v1alpha1.ActionSet, error) {
	as.APIVersion = v1alpha1.SchemeGroupVersion.String()
	as.Kind = "ActionSet"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(as)
	if err != nil {
		return nil, fmt.Errorf("encode actionset: %w", err)
	}
	u, err := c.actionSets(as.Namespace).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create actionset: %w", err)
	}
	return fromUnstructured(u)
}

// fromUnstructured converts what the dynamic client returns.
func fromUnstructured(u *unstructured.Unstructured) (*v1alpha1.ActionSet, error) {
	var as v1alpha1.ActionSet
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &as); err != nil {
		return nil, fmt.Errorf("decode actionset %s: %w", u.GetName(), err)
	}
	return &as, nil
}

// completeActionSets completes the first argument with the names of the
// ActionSets in the namespace.
func completeActionSets(f Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := newClients(f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := c.actionSets(c.namespace).List(cmd.Context(), metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, u := range list.Items {
			names = append(names, u.GetName())
		}
		slices.Sort(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
