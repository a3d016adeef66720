package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// restoreFromParam is the blueprint param that, by the library's
// convention, chooses where a restore reads its data.
const restoreFromParam = "restoreFrom"

var blueprintsGVR = v1alpha1.SchemeGroupVersion.WithResource("blueprints")

// runFromRestorePoint reads the restore point from the Location and
// creates the ActionSet that restores it.
func (o *RestoreOptions) runFromRestorePoint(ctx context.Context) error {
	l, err := openLocation(ctx, o.c, o.Location)
	if err != nil {
		return err
	}
	rp, err := repository.GetRestorePoint(ctx, l.rep, o.RestorePoint)
	l.Close(context.WithoutCancel(ctx))
	if err != nil {
		return failed(fmt.Errorf("Location %s: %w", o.Location, err))
	}
	params := maps.Clone(o.params)
	if params == nil {
		params = map[string]apiextensionsv1.JSON{}
	}
	if _, set := params[restoreFromParam]; !set {
		declared, err := o.c.blueprintDeclares(ctx, rp.Blueprint, restoreFromParam)
		if err != nil {
			return err
		}
		if declared {
			params[restoreFromParam] = apiextensionsv1.JSON{Raw: []byte(`"` + restorePointSource(rp) + `"`)}
		}
	}
	as, err := restorePointActionSet(rp, o.c.namespace, o.Action, o.ToNamespace, o.Location, params)
	if err != nil {
		return err
	}
	return createAndWait(ctx, o.c, as, o.deps, o.IOStreams, o.Wait, o.Timeout)
}

// restorePointSource is where a restore of rp reads its data by
// default: its DR copies when it has them and no exports (a restore
// point of the DR variant, read in the DR region), else its exports.
func restorePointSource(rp repository.RestorePoint) string {
	exports, _ := rp.Artifacts["exports"].([]any)
	if _, dr := rp.Artifacts["drCopies"]; dr && len(exports) == 0 {
		return "drCopy"
	}
	return "export"
}

// restorePointActionSet is the ActionSet that runs action in namespace
// with rp's blueprint, object (in toNamespace, if set) and artifacts.
func restorePointActionSet(rp repository.RestorePoint, namespace, action, toNamespace, location string, params map[string]apiextensionsv1.JSON) (*v1alpha1.ActionSet, error) {
	inline := make(map[string]apiextensionsv1.JSON, len(rp.Artifacts))
	for name, v := range rp.Artifacts {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("restore point %s: artifact %s: %w", rp.ID, name, err)
		}
		inline[name] = apiextensionsv1.JSON{Raw: raw}
	}
	if len(inline) == 0 {
		return nil, failed(fmt.Errorf("restore point %s has no artifacts to restore from", rp.ID))
	}
	spec := v1alpha1.ActionSetSpec{
		Blueprint: v1alpha1.BlueprintReference{Name: rp.Blueprint},
		Action:    action,
		Object:    rp.Object,
		Location:  &v1alpha1.LocalObjectReference{Name: location},
		Artifacts: &v1alpha1.ArtifactsSource{Inline: inline},
	}
	if toNamespace != "" {
		spec.Object.Namespace = toNamespace
	}
	if len(params) > 0 {
		spec.Params = params
	}
	return &v1alpha1.ActionSet{
		ObjectMeta: metav1.ObjectMeta{GenerateName: fmt.Sprintf("%s-%s-", spec.Object.Name, action), Namespace: namespace},
		Spec:       spec,
	}, nil
}

// blueprintDeclares tells whether Blueprint name, in the namespace,
// declares param.
func (c clients) blueprintDeclares(ctx context.Context, name, param string) (bool, error) {
	u, err := c.dyn.Resource(blueprintsGVR).Namespace(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("get blueprint %s (the restore point's): %w", name, err)
	}
	_, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec", "params", param)
	if err != nil {
		return false, fmt.Errorf("blueprint %s: spec.params: %w", name, err)
	}
	return found, nil
}
