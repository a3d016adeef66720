package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/engine/diag"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// ConditionValid is the Blueprint condition that is True when it compiles.
const ConditionValid = "Valid"

// Reasons of the Valid condition.
const (
	ReasonCompiled      = "Compiled"
	ReasonCompileErrors = "CompileErrors"
)

// compiled is the outcome of compiling one blueprint generation.
type compiled struct {
	plan   *plan.Blueprint // nil when errs is not empty
	errs   []string        // file:line:col: path: msg, one per error
	status v1alpha1.BlueprintStatus
}

// compileCache compiles each blueprint generation once.
type compileCache struct {
	c  *compile.Compiler
	mu sync.Mutex
	m  map[cacheKey]*compiled
}

type cacheKey struct {
	uid types.UID
	gen int64
}

func newCompileCache(c *compile.Compiler) *compileCache {
	return &compileCache{c: c, m: map[cacheKey]*compiled{}}
}

// get returns the compiled blueprint, compiling it on first use.
func (cc *compileCache) get(bp *v1alpha1.Blueprint) (*compiled, error) {
	key := cacheKey{bp.UID, bp.Generation}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if got, ok := cc.m[key]; ok {
		return got, nil
	}
	data, err := Render(bp)
	if err != nil {
		return nil, err
	}
	p, ds := cc.c.File(BlueprintFile(bp.Namespace, bp.Name), data)
	out := &compiled{plan: p}
	if ds.HasErrors() {
		out.plan = nil
		for _, d := range ds {
			if d.Severity == diag.Error {
				out.errs = append(out.errs, d.String())
			}
		}
	}
	out.status = blueprintStatus(bp.Generation, out.errs)
	for k := range cc.m { // keep only the newest generation of each blueprint
		if k.uid == key.uid {
			delete(cc.m, k)
		}
	}
	cc.m[key] = out
	return out, nil
}

// BlueprintFile is the file name compile errors of an API Blueprint carry.
func BlueprintFile(namespace, name string) string {
	return "blueprint/" + namespace + "/" + name
}

// Render writes a Blueprint from the API back as YAML (apiVersion, kind,
// metadata.name and spec), so compile errors carry line:col in it.
func Render(bp *v1alpha1.Blueprint) ([]byte, error) {
	doc := map[string]any{
		"apiVersion": v1alpha1.SchemeGroupVersion.String(),
		"kind":       "Blueprint",
		"metadata":   map[string]any{"name": bp.Name},
		"spec":       bp.Spec,
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render blueprint %s/%s: %w", bp.Namespace, bp.Name, err)
	}
	return data, nil
}

// blueprintStatus is the status of a blueprint generation with errs.
func blueprintStatus(gen int64, errs []string) v1alpha1.BlueprintStatus {
	st := v1alpha1.BlueprintStatus{ObservedGeneration: gen, Errors: errs}
	cond := metav1.Condition{Type: ConditionValid, Status: metav1.ConditionTrue, Reason: ReasonCompiled,
		Message: "the blueprint compiles", ObservedGeneration: gen}
	if len(errs) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, ReasonCompileErrors
		cond.Message = fmt.Sprintf("%d compile errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	return st
}

// sameBlueprintStatus reports whether have already says what want says;
// condition times are ignored.
func sameBlueprintStatus(have, want v1alpha1.BlueprintStatus) bool {
	if have.ObservedGeneration != want.ObservedGeneration || !slices.Equal(have.Errors, want.Errors) {
		return false
	}
	h, w := meta.FindStatusCondition(have.Conditions, ConditionValid), meta.FindStatusCondition(want.Conditions, ConditionValid)
	return h != nil && w != nil && h.Status == w.Status && h.Message == w.Message && h.ObservedGeneration == w.ObservedGeneration
}

// runBlueprint is the blueprint a run uses, compiled: for a run that is
// resuming, the spec frozen in its status when it started (whatever has
// become of the Blueprint since); otherwise the Blueprint as it is now.
func (r *Reconciler) runBlueprint(ctx context.Context, as *v1alpha1.ActionSet) (*v1alpha1.Blueprint, *compiled, error) {
	frozen := as.Status.BlueprintSpec
	if frozen == nil || resumeState(as.Status) == nil {
		return r.resolveBlueprint(ctx, as)
	}
	bp := &v1alpha1.Blueprint{
		ObjectMeta: metav1.ObjectMeta{Namespace: cmp.Or(as.Spec.Blueprint.Namespace, as.Namespace), Name: as.Spec.Blueprint.Name,
			UID: "frozen-" + as.UID, Generation: as.Status.BlueprintGeneration},
		Spec: *frozen.DeepCopy(),
	}
	c, err := r.compiled.get(bp)
	return bp, c, err
}

// resolveBlueprint gets and compiles the ActionSet's blueprint and records
// the outcome in the Blueprint's status.
func (r *Reconciler) resolveBlueprint(ctx context.Context, as *v1alpha1.ActionSet) (*v1alpha1.Blueprint, *compiled, error) {
	ns := as.Spec.Blueprint.Namespace
	if ns == "" {
		ns = as.Namespace
	}
	bp := &v1alpha1.Blueprint{}
	if err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: as.Spec.Blueprint.Name}, bp); err != nil {
		return nil, nil, fmt.Errorf("get blueprint %s/%s: %w", ns, as.Spec.Blueprint.Name, err)
	}
	c, err := r.compiled.get(bp)
	if err != nil {
		return nil, nil, err
	}
	if !sameBlueprintStatus(bp.Status, c.status) {
		want := c.status
		for i := range want.Conditions { // keep transition times of unchanged conditions
			if have := meta.FindStatusCondition(bp.Status.Conditions, want.Conditions[i].Type); have != nil && have.Status == want.Conditions[i].Status {
				want.Conditions[i].LastTransitionTime = have.LastTransitionTime
			}
		}
		bp.Status = *want.DeepCopy()
		if err := r.client.Status().Update(ctx, bp); err != nil {
			return nil, nil, fmt.Errorf("update blueprint %s/%s status: %w", ns, bp.Name, err)
		}
	}
	return bp, c, nil
}
