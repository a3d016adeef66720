package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

const rbacLong = `Print, or apply, the RBAC that lets a namespace's ActionSets run.

The controller runs every ActionSet as a ServiceAccount of the ActionSet's
namespace (spec.serviceAccountName, else the controller's
--default-service-account, snapflow-runner): each call a function makes to
the cluster impersonates it, so the API server's RBAC decides what a run may
do. This command writes that ServiceAccount and binds it to:

  snapflow-runner                pods, exec, claims, Secrets, snapshots,
                                 workloads and their scale, the Location:
                                 in the namespace and each --target-namespace
  snapflow-runner-cluster-read   read storage and snapshot classes, volumes
                                 and snapshot contents
  snapflow-runner-cluster-write  with --cluster-writes only: Retain copies of
                                 snapshot classes (durable snapshots), snapshot
                                 contents from a handle (restore once the
                                 VolumeSnapshot is gone, delete), namespaces

--cluster-writes lets the holder restore any storage snapshot whose handle
it knows, so grant it only to namespaces you trust. Without it, a durable
snapshot needs the "-retain" class copies to exist already.`

const rbacExample = `  # What the backups in namespace shop need, as YAML
  kubectl snapflow rbac -n shop

  # Let ActionSets in snapflow-demo back up basic-app's workloads, and apply it
  kubectl snapflow rbac -n snapflow-demo --target-namespace basic-app --apply

  # A trusted namespace that restores anywhere, from snapshot handles too
  kubectl snapflow rbac -n backup-admin --any-target-namespace --cluster-writes --apply`

// RBACOptions are the inputs of kubectl snapflow rbac.
type RBACOptions struct {
	cli.IOStreams
	deps Deps
	RunnerAccess
	Apply bool

	dyn dynamic.Interface
}

// NewCmdRBAC builds kubectl snapflow rbac.
func NewCmdRBAC(deps Deps, streams cli.IOStreams) *cobra.Command {
	o := &RBACOptions{IOStreams: streams, deps: deps}
	cmd := &cobra.Command{
		Use:     "rbac",
		Short:   "Print or apply the ServiceAccount and roles a namespace's runs act as",
		Long:    rbacLong,
		Example: rbacExample,
		Args:    cli.UsageArgs(cobra.NoArgs),
		RunE:    runE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.ServiceAccount, "service-account", v1alpha1.DefaultServiceAccountName, "the ServiceAccount the runs act as")
	f.StringSliceVar(&o.TargetNamespaces, "target-namespace", nil, "another namespace whose workloads the runs back up and restore (repeatable)")
	f.BoolVar(&o.AnyTargetNamespace, "any-target-namespace", false, "grant the namespaced rules in every namespace, including ones a restore creates")
	f.BoolVar(&o.ClusterWrites, "cluster-writes", false, "also grant the cluster-scoped writes (see above)")
	f.BoolVar(&o.Apply, "apply", false, "apply the objects to the cluster (server-side apply) instead of printing them")
	return cmd
}

// Complete resolves the namespace, and the client when applying.
func (o *RBACOptions) Complete(_ []string) error {
	var err error
	if o.Namespace, err = o.deps.Factory.Namespace(); err != nil {
		return err
	}
	if o.Apply {
		o.dyn, err = o.deps.Factory.Dynamic()
	}
	return err
}

// Validate checks the flags.
func (o *RBACOptions) Validate() error {
	if o.ServiceAccount == "" {
		return cli.Usagef("--service-account must not be empty")
	}
	if o.AnyTargetNamespace && len(o.TargetNamespaces) > 0 {
		return cli.Usagef("--target-namespace and --any-target-namespace exclude each other")
	}
	return nil
}

// Run prints or applies the objects.
func (o *RBACOptions) Run(ctx context.Context) error {
	for i, obj := range RunnerRBAC(o.RunnerAccess) {
		if !o.Apply {
			out, err := yaml.Marshal(obj)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(o.Out, "---")
			}
			fmt.Fprint(o.Out, string(out))
			continue
		}
		if err := applyObject(ctx, o.dyn, obj); err != nil {
			return err
		}
		gvk := obj.GetObjectKind().GroupVersionKind()
		fmt.Fprintf(o.Out, "%s/%s applied\n", gvk.Kind, obj.GetName())
	}
	return nil
}

// applyObject server-side applies obj, taking over fields another manager set.
func applyObject(ctx context.Context, dyn dynamic.Interface, obj runtime.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	gvk := u.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resourceOf(gvk.Kind)}
	var api dynamic.ResourceInterface = dyn.Resource(gvr)
	if ns := u.GetNamespace(); ns != "" {
		api = dyn.Resource(gvr).Namespace(ns)
	}
	if _, err := api.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "kubectl-snapflow", Force: true}); err != nil {
		return fmt.Errorf("apply %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	return nil
}

// resourceOf is the resource of the kinds RunnerRBAC makes.
func resourceOf(kind string) string {
	return map[string]string{
		"ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
		"ClusterRoleBinding": "clusterrolebindings", "RoleBinding": "rolebindings",
	}[kind]
}
