package cluster

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

var (
	crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	// VolumeSnapshotClassGVR is the snapshot API's class resource.
	VolumeSnapshotClassGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// installObjects installs the snapshot CRDs (before snapshot-controller
// starts, which needs them established) and the cluster's storage objects.
func (s *starter) installObjects(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	for _, f := range s.o.Binaries.SnapshotCRDs {
		if err := ApplyCRD(ctx, dyn, f); err != nil {
			return err
		}
	}
	if err := s.createStorageObjects(ctx, dyn); err != nil {
		return err
	}
	if s.o.Progress != nil {
		fmt.Fprintf(s.o.Progress, "%-24s installed\n", "snapshot CRDs, classes")
	}
	return nil
}

// ApplyCRD creates the CustomResourceDefinition in file (keeping one that
// exists) and waits until it is established.
func ApplyCRD(ctx context.Context, dyn dynamic.Interface, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		return fmt.Errorf("read CRD %s: %w", file, err)
	}
	if _, err := dyn.Resource(crdGVR).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create CRD %s: %w", obj.GetName(), err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(crdGVR).Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
}

// createStorageObjects creates the CSIDriver (no attach step: the test
// driver needs none), the default StorageClass, its WaitForFirstConsumer
// twin and the VolumeSnapshotClass.
func (s *starter) createStorageObjects(ctx context.Context, dyn dynamic.Interface) error {
	if s.o.Shared != nil {
		return s.createAzureObjects(ctx, dyn)
	}
	storage := s.client.StorageV1()
	driver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: CSIDriverName},
		Spec:       storagev1.CSIDriverSpec{AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(false)},
	}
	if _, err := storage.CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create CSIDriver: %w", err)
	}
	immediate := storagev1.VolumeBindingImmediate
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClass, Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true",
		}},
		Provisioner:       CSIDriverName,
		VolumeBindingMode: &immediate,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
	}
	if _, err := storage.StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass: %w", err)
	}
	wffc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClassWFFC},
		Provisioner:       CSIDriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
	}
	if _, err := storage.StorageClasses().Create(ctx, wffc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass %s: %w", StorageClassWFFC, err)
	}
	vsc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
		"metadata": map[string]any{"name": SnapshotClass, "annotations": map[string]any{
			"snapshot.storage.kubernetes.io/is-default-class": "true",
			"snapflow.dev/is-snapshot-class":                  "true",
		}},
		"driver": CSIDriverName, "deletionPolicy": "Delete",
	}}
	if _, err := dyn.Resource(VolumeSnapshotClassGVR).Create(ctx, vsc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create VolumeSnapshotClass: %w", err)
	}
	return nil
}
