package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// loadCRD reads a generated CRD and converts it to the internal type the
// apiserver validates.
func loadCRD(t *testing.T, file string) *apiextensions.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "crds", file))
	if err != nil {
		t.Fatal(err)
	}
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &v1); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	var crd apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
		t.Fatalf("convert %s: %v", file, err)
	}
	// The apiserver fills in storedVersions; validation requires it.
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
		}
	}
	return &crd
}

// TestCRDsAreValid runs the apiserver's own CRD validation: structural schema,
// CEL rules compile and fit the cost budget.
func TestCRDsAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("got %d CRD files, want 3: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			crd := loadCRD(t, filepath.Base(f))
			if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
				t.Errorf("invalid CRD:\n%v", errs.ToAggregate())
			}
		})
	}
}

// validate checks obj against the CRD's schema and CEL rules, as the
// apiserver does on create, and returns the errors as sorted "field: detail".
func validate(t *testing.T, crd *apiextensions.CustomResourceDefinition, obj string) []string {
	t.Helper()
	return validateUpdate(t, crd, "", obj)
}

// validateUpdate is validate for an update from old ("" for a create), so
// that transition rules (oldSelf) apply.
func validateUpdate(t *testing.T, crd *apiextensions.CustomResourceDefinition, old, obj string) []string {
	t.Helper()
	var u, o map[string]any
	if err := yaml.Unmarshal([]byte(obj), &u); err != nil {
		t.Fatalf("decode object: %v", err)
	}
	var oldObj any
	if old != "" {
		if err := yaml.Unmarshal([]byte(old), &o); err != nil {
			t.Fatalf("decode old object: %v", err)
		}
		oldObj = o
	}
	// The internal type holds a schema shared by all versions in
	// Spec.Validation.
	props := crd.Spec.Validation.OpenAPIV3Schema
	sv, _, err := validation.NewSchemaValidator(props)
	if err != nil {
		t.Fatal(err)
	}
	errs := validation.ValidateCustomResource(nil, u, sv)
	s, err := schema.NewStructural(props)
	if err != nil {
		t.Fatal(err)
	}
	celErrs, _ := cel.NewValidator(s, true, celconfig.PerCallLimit).
		Validate(context.Background(), nil, s, u, oldObj, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Detail)
	}
	slices.Sort(out)
	return out
}

func TestActionSetSchema(t *testing.T) {
	crd := loadCRD(t, "snapflow.dev_actionsets.yaml")
	const head = `
apiVersion: snapflow.dev/v1alpha1
kind: ActionSet
metadata: {name: a, namespace: db}
spec:
  blueprint: {name: bp}
  action: backup
  object: {kind: StatefulSet, name: pg}
`
	tests := []struct {
		name string
		spec string // appended to spec
		want []string
	}{{
		name: "params of any JSON type",
		spec: `
  params: {s: "x", n: 3, b: true, l: [1, "a"], m: {k: [v]}, z: null}`,
	}, {
		name: "inline artifacts",
		spec: `
  artifacts: {inline: {snapshots: [{name: s1}], size: 3}}`,
	}, {
		name: "artifacts from an ActionSet",
		spec: `
  artifacts: {fromActionSet: backup-1}`,
	}, {
		name: "artifacts with both sources",
		spec: `
  artifacts: {fromActionSet: backup-1, inline: {a: 1}}`,
		want: []string{"spec.artifacts: exactly one of inline or fromActionSet must be set"},
	}, {
		name: "artifacts with no source",
		spec: `
  artifacts: {}`,
		want: []string{"spec.artifacts: exactly one of inline or fromActionSet must be set"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := validate(t, crd, head+tc.spec)
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
}

// Once created, an ActionSet's spec changes only by cancel (and params).
func TestActionSetSpecIsImmutable(t *testing.T) {
	crd := loadCRD(t, "snapflow.dev_actionsets.yaml")
	const old = `
apiVersion: snapflow.dev/v1alpha1
kind: ActionSet
metadata: {name: a, namespace: db}
spec:
  blueprint: {name: bp}
  action: backup
  object: {kind: StatefulSet, name: pg}
  location: {name: offsite}
  serviceAccountName: runner
  artifacts: {fromActionSet: backup-1}
`
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"cancel", "  action: backup\n", "  action: backup\n  cancel: true\n", nil},
		{"action", "action: backup", "action: restore",
			[]string{"spec: spec.blueprint, spec.action and spec.object cannot change; create another ActionSet"}},
		{"object", "name: pg}", "name: other}",
			[]string{"spec: spec.blueprint, spec.action and spec.object cannot change; create another ActionSet"}},
		{"location removed", "  location: {name: offsite}\n", "",
			[]string{"spec: spec.location cannot change; create another ActionSet"}},
		{"service account", "serviceAccountName: runner", "serviceAccountName: admin",
			[]string{"spec: spec.serviceAccountName cannot change; create another ActionSet"}},
		{"artifacts", "fromActionSet: backup-1", "fromActionSet: backup-2",
			[]string{"spec: spec.artifacts cannot change; create another ActionSet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			updated := strings.Replace(old, tc.from, tc.to, 1)
			if updated == old {
				t.Fatalf("%q not in the ActionSet", tc.from)
			}
			if diff := cmp.Diff(validateUpdate(t, crd, old, updated), tc.want); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
}

func TestActionSetStatusSchema(t *testing.T) {
	crd := loadCRD(t, "snapflow.dev_actionsets.yaml")
	obj := `
apiVersion: snapflow.dev/v1alpha1
kind: ActionSet
metadata: {name: a, namespace: db}
spec:
  blueprint: {name: bp}
  action: backup
  object: {kind: StatefulSet, name: pg}
status:
  state: Running
  phases:
  - {name: snap, stage: main, state: Succeeded, outputs: {snapshots: [a, b], count: 2, id: "x"}}
  - {name: unfreeze, stage: later, state: Done}
  artifacts: {snapshots: [a, b]}
  progress: {percent: 101}
`
	got := validate(t, crd, obj)
	want := []string{
		`status.phases[1].stage: supported values: "main", "finally"`,
		`status.phases[1].state: supported values: "Pending", "Running", "Succeeded", "Failed", "Skipped"`,
		`status.progress.percent: status.progress.percent in body should be less than or equal to 100`,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("errors (-got +want):\n%s", diff)
	}
}

func TestLocationSchema(t *testing.T) {
	crd := loadCRD(t, "snapflow.dev_locations.yaml")
	tests := []struct {
		name string
		spec string
		want []string
	}{{
		name: "azurite",
		spec: `{type: azure, endpoint: "http://127.0.0.1:10000/devstoreaccount1", container: backups, credentialsSecretRef: {name: azurite}, repositoryPasswordSecretRef: {name: repo}}`,
	}, {
		name: "s3",
		spec: `{type: s3, bucket: b, region: eu-west-1}`,
	}, {
		name: "filesystem",
		spec: `{type: filesystem, path: /backups}`,
	}, {
		name: "azure without container",
		spec: `{type: azure, bucket: b}`,
		want: []string{"spec: type azure needs container"},
	}, {
		name: "s3 with empty bucket",
		spec: `{type: s3, bucket: ""}`,
		want: []string{"spec: type s3 needs bucket"},
	}, {
		name: "filesystem without path",
		spec: `{type: filesystem}`,
		want: []string{"spec: type filesystem needs path"},
	}, {
		name: "unknown type",
		spec: `{type: gcs, bucket: b}`,
		want: []string{`spec.type: supported values: "azure", "s3", "filesystem"`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := "apiVersion: snapflow.dev/v1alpha1\nkind: Location\nmetadata: {name: l, namespace: db}\nspec: " + tc.spec
			got := validate(t, crd, obj)
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
}
