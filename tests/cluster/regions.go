package cluster

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// Names a cluster with Options.Shared uses: AKS's, so what is written for
// AKS (blueprints, StorageClass mappings) runs unchanged.
const (
	AzureDiskDriver    = "disk.csi.azure.com"
	AzureStorageClass  = "managed-csi"
	AzureSnapshotClass = "csi-azuredisk-vsc"
)

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidateName checks a cluster name: it names a directory and a Node, so
// it must be a short DNS label.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("cluster name %q: want 1 to 40 lower-case letters, digits and '-', not at either end", name)
	}
	return nil
}

func (o Options) validate() error {
	if o.Name != "" {
		if err := ValidateName(o.Name); err != nil {
			return err
		}
	}
	sh := o.Shared
	if sh == nil {
		return nil
	}
	if _, ok := sh.AzuriteAccounts[o.Region]; !ok {
		return fmt.Errorf("region %q: the shared services serve %s", o.Region,
			strings.Join(slices.Sorted(maps.Keys(sh.AzuriteAccounts)), ", "))
	}
	if sh.ARMURL == "" || sh.CAFile == "" {
		return fmt.Errorf("shared services in %s: no ARM URL or CA file", sh.Dir)
	}
	return nil
}

// newInfo is the Info a cluster starts with. A named cluster's Node is
// named after it, so the two clusters of a DR pair are told apart in logs
// and in anything they record in the shared ARM.
func newInfo(o Options, dir string) Info {
	info := Info{Dir: dir, Name: o.Name, Region: o.Region, NodeName: NodeName, CSIDriver: CSIDriverName,
		StorageClass: StorageClass, SnapshotClass: SnapshotClass, CSIDataDir: filepath.Join(dir, "csi", "data")}
	if o.Name != "" {
		info.NodeName = NodeName + "-" + o.Name
	}
	if o.Shared != nil {
		info.CSIDriver, info.StorageClass, info.SnapshotClass = AzureDiskDriver, AzureStorageClass, AzureSnapshotClass
		info.ARMURL, info.ResourceGroup = o.Shared.ARMURL, ResourceGroupFor(o.Region)
	}
	return info
}

// useSharedAzurite replaces the Azurite step of a cluster with Shared.
func (s *starter) useSharedAzurite(context.Context) error {
	s.c.AzuriteEndpoint = s.o.Shared.AzuriteEndpoint
	s.c.AzuriteAccounts = maps.Clone(s.o.Shared.AzuriteAccounts)
	return nil
}

// csiDriverCommand is the CSI driver's arguments and environment: with
// Shared, its azure-disk personality on the shared ARM, in the cluster's
// region and resource group; the credential goes in the environment.
func (s *starter) csiDriverCommand() (args, env []string) {
	args = csiDriverArgs(s.dir, s.c.NodeName, s.c.CSIDriver)
	sh := s.o.Shared
	if sh == nil {
		return args, nil
	}
	args = append(args, "--personality=azure-disk",
		"--arm-endpoint="+sh.ARMURL, "--arm-ca-file="+sh.CAFile,
		"--subscription="+sh.SubscriptionID, "--resource-group="+ResourceGroupFor(s.o.Region),
		"--region="+s.o.Region)
	return args, AzureCredentialEnv(*sh)
}

// AzureCredentialEnv is the environment azidentity's EnvironmentCredential
// reads, for the shared service principal and the local token endpoint.
func AzureCredentialEnv(sh SharedInfo) []string {
	return []string{
		"AZURE_TENANT_ID=" + sh.TenantID,
		"AZURE_CLIENT_ID=" + sh.ClientID,
		"AZURE_CLIENT_SECRET=" + sh.ClientSecret,
		"AZURE_AUTHORITY_HOST=" + sh.ARMURL + "/",
	}
}

// createAzureObjects creates AKS's storage objects for the azure-disk
// personality: the CSIDriver (without attach, as the process node does not
// attach and no attach/detach controller runs), the default StorageClass
// managed-csi and the default VolumeSnapshotClass csi-azuredisk-vsc.
func (s *starter) createAzureObjects(ctx context.Context, dyn dynamic.Interface) error {
	storage := s.client.StorageV1()
	driver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: AzureDiskDriver},
		Spec:       storagev1.CSIDriverSpec{AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(false)},
	}
	if _, err := storage.CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create CSIDriver %s: %w", AzureDiskDriver, err)
	}
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: AzureStorageClass, Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true",
		}},
		Provisioner:          AzureDiskDriver,
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingImmediate),
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		AllowVolumeExpansion: ptr.To(true),
	}
	if _, err := storage.StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass %s: %w", AzureStorageClass, err)
	}
	vsc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": AzureSnapshotClass, "annotations": map[string]any{
			"snapshot.storage.kubernetes.io/is-default-class": "true",
			"snapflow.dev/is-snapshot-class":                  "true",
		}},
		"driver": AzureDiskDriver, "deletionPolicy": "Delete",
	}}
	if _, err := dyn.Resource(VolumeSnapshotClassGVR).Create(ctx, vsc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create VolumeSnapshotClass %s: %w", AzureSnapshotClass, err)
	}
	return nil
}
