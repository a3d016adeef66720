package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/schema/v1alpha1"
	"github.com/snapflow/snapflow/tests/cluster"
)

// newLocation prints an azure Location on the local cluster's Azurite,
// with its Secrets, for kubectl apply -f -. Piping keeps the account key
// and the new repository password off every command line and terminal.
func newLocation() *cobra.Command {
	var dir, name, namespace, account, container, prefix string
	cmd := &cobra.Command{
		Use:   "azurite-location",
		Short: "Print an azure Location on the local Azurite, with its Secrets, as YAML",
		Long: `Print an azure Location on the local cluster's Azurite, with a Secret
holding the account's name and key and a Secret holding a new random
repository password, as YAML for 'kubectl apply -f -'. The container is
created by the first export.`,
		Example: `  snapflow-local azurite-location --name offsite --namespace snapflow-demo | kubectl apply -f -`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := cluster.Load(dir)
			if err != nil {
				return err
			}
			key, ok := info.AzuriteAccounts[account]
			if !ok {
				return fmt.Errorf("--account %q: Azurite serves %s", account, strings.Join(slices.Sorted(maps.Keys(info.AzuriteAccounts)), ", "))
			}
			docs, err := azuriteLocation(info.AzuriteEndpoint+"/"+account, account, key, name, namespace, container, prefix)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), docs)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", defaultDir(), "state directory of the cluster")
	f.StringVar(&name, "name", "offsite", "name of the Location; its Secrets are NAME-credentials and NAME-password")
	f.StringVar(&namespace, "namespace", "default", "namespace of the Location and its Secrets")
	f.StringVar(&account, "account", "eastus", "Azurite storage account (a region)")
	f.StringVar(&container, "container", "snapflow", "blob container")
	f.StringVar(&prefix, "prefix", "local-cluster", "prefix inside the container")
	return cmd
}

// azuriteLocation renders the two Secrets and the Location as YAML.
func azuriteLocation(endpoint, account, key, name, namespace, container, prefix string) (string, error) {
	pw := make([]byte, 24)
	_, _ = rand.Read(pw) // crypto/rand.Read never fails
	secret := func(suffix string, data map[string]string) map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata":   map[string]any{"name": name + suffix, "namespace": namespace},
			"stringData": data,
		}
	}
	loc := v1alpha1.Location{Spec: v1alpha1.LocationSpec{
		Type: v1alpha1.LocationTypeAzure, Endpoint: endpoint, Container: container, Prefix: prefix,
		CredentialsSecretRef:        &v1alpha1.SecretReference{Name: name + "-credentials"},
		RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: name + "-password"},
	}}
	loc.APIVersion, loc.Kind = v1alpha1.SchemeGroupVersion.String(), "Location"
	loc.Name, loc.Namespace = name, namespace
	var b strings.Builder
	for _, obj := range []any{
		secret("-credentials", map[string]string{"azureStorageAccount": account, "azureStorageKey": key}),
		secret("-password", map[string]string{"password": hex.EncodeToString(pw)}),
		loc,
	} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return "", fmt.Errorf("render the Location: %w", err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String(), nil
}
