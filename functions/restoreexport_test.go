package functions

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// The mover that fills a claim from an export is bounded by dataTimeout,
// not by the binding's timeout: a large restore outlives 10 minutes.
func TestRestoreFromExportMoverGetsTheDataTimeoutFake(t *testing.T) {
	loc := &v1alpha1.Location{ObjectMeta: metav1.ObjectMeta{Namespace: "sets", Name: "offsite"},
		Spec: v1alpha1.LocationSpec{RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: "pw"}}}
	rt := &function.Runtime{Location: loc, Clients: function.Clients{Kube: kubefake.NewClientset()}}
	in := RestoreArgs{
		From: restoreFromExport, Location: "offsite", Exports: []ExportRecord{{PVC: "data", Namespace: "app", SnapshotID: "k1"}},
		Timeout: metav1.Duration{Duration: 10 * time.Minute}, DataTimeout: metav1.Duration{Duration: 6 * time.Hour},
	}
	src, err := restoreSource(t.Context(), rt, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.(exportSource).timeout; got != 6*time.Hour {
		t.Errorf("mover timeout %s, want dataTimeout 6h (timeout bounds only the binding)", got)
	}
	if a, ok := restoreSignature.Arg("dataTimeout"); !ok || a.Default != "6h" {
		t.Errorf("dataTimeout: %+v (declared %v), want a default of 6h like export's timeout", a, ok)
	}
}

// A mover for a claim that does not exist fails at once, permanently,
// instead of waiting unschedulable until its timeout.
func TestMoverForAMissingClaimFailsFastFake(t *testing.T) {
	rt := &function.Runtime{Clients: function.Clients{Kube: kubefake.NewClientset()}}
	_, err := runMover(t.Context(), rt, nil, moverJob{mode: "restore", namespace: "app", claim: "data", name: "m", timeout: time.Hour})
	if !function.IsPermanent(err) || err.Error() != "claim app/data does not exist: the mover has nothing to mount" {
		t.Errorf("err = %v, want a permanent error naming the missing claim", err)
	}
}
