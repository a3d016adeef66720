package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/snapflow/snapflow/engine/function"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestLocationPolicyCheck(t *testing.T) {
	fs := func(path string) *v1alpha1.Location {
		return &v1alpha1.Location{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "l"},
			Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: path}}
	}
	withSecret := func(ns string) *v1alpha1.Location {
		return &v1alpha1.Location{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "l"},
			Spec: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeAzure, Container: "c",
				RepositoryPasswordSecretRef: &v1alpha1.SecretReference{Name: "pw", Namespace: ns}}}
	}
	allowed := LocationPolicy{FilesystemPaths: []string{"/var/backups/"}}
	for _, tc := range []struct {
		name   string
		policy LocationPolicy
		loc    *v1alpha1.Location
		want   string
	}{
		{"secret in own namespace", LocationPolicy{}, withSecret("tenant-a"), ""},
		{"secret namespace defaulted", LocationPolicy{}, withSecret(""), ""},
		{"secret in another namespace", LocationPolicy{}, withSecret("victim"),
			`spec.repositoryPasswordSecretRef.namespace "victim": a Location's Secrets must be in its own namespace "tenant-a"`},
		{"filesystem not allowed at all", LocationPolicy{}, fs("/var/backups/a"),
			`spec.path "/var/backups/a": filesystem Locations are not allowed by this controller (its operator allows directories with --allow-filesystem-location)`},
		{"filesystem under an allowed directory", allowed, fs("/var/backups/a"), ""},
		{"filesystem is the allowed directory", allowed, fs("/var/backups"), ""},
		{"filesystem escapes with ..", allowed, fs("/var/backups/../../etc"),
			`spec.path "/var/backups/../../etc" is not under a directory this controller allows for filesystem Locations (/var/backups/)`},
		{"filesystem sibling with the same prefix", allowed, fs("/var/backups-other"),
			`spec.path "/var/backups-other" is not under a directory this controller allows for filesystem Locations (/var/backups/)`},
		{"filesystem relative", allowed, fs("backups"), `spec.path "backups": a filesystem Location needs an absolute path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(tc.loc)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Check = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunClientsServiceAccount(t *testing.T) {
	var asked []string
	r := &Reconciler{mover: function.Mover{Image: "m"}, clientsFor: func(ns, name string) (function.Clients, error) {
		asked = append(asked, ns+"/"+name)
		return function.Clients{}, nil
	}}
	as := &v1alpha1.ActionSet{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a"}}
	if _, err := r.runClients(as); !function.IsPermanent(err) {
		t.Fatalf("no ServiceAccount and no default: err = %v, want a permanent error", err)
	}
	r.defaultServiceAccount = "snapflow-runner"
	c, err := r.runClients(as)
	if err != nil || c.Mover.Image != "m" {
		t.Fatalf("default: clients %+v, err %v; want the controller's mover", c, err)
	}
	as.Spec.ServiceAccountName = "backup"
	if _, err := r.runClients(as); err != nil {
		t.Fatal(err)
	}
	if want := []string{"tenant-a/snapflow-runner", "tenant-a/backup"}; len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Errorf("clients asked for %v, want %v", asked, want)
	}
}
