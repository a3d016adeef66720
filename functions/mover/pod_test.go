package mover

import (
	"encoding/json"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

func TestPodCarriesNoSecretValues(t *testing.T) {
	pod, err := Pod(PodOptions{
		Name: "m", Namespace: "shop", Image: "snapflow:dev", Command: []string{"/snapflow"},
		Mode: ModeExport, Claim: "clone", CredentialsSecret: "creds",
		Request: Request{Location: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: "/mnt/nfs/backups"}, Source: Source{Host: "c", User: "shop", Path: "data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	if !slices.Equal(c.Command, []string{"/snapflow", "mover", "export"}) {
		t.Errorf("command %v", c.Command)
	}
	var sawRequest bool
	for _, e := range c.Env {
		switch {
		case e.Name == RequestEnv:
			sawRequest = true
			var req Request
			if err := json.Unmarshal([]byte(e.Value), &req); err != nil || req.Dir != DataDir || req.ConfigDir != ConfigDir {
				t.Errorf("request %s: %v", e.Value, err)
			}
		case e.Value != "":
			t.Errorf("env %s has a literal value; credentials must come from the Secret", e.Name)
		case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "creds":
			t.Errorf("env %s does not come from Secret creds: %+v", e.Name, e.ValueFrom)
		}
	}
	if !sawRequest || len(c.Env) != len(repository.SecretKeys)+1 {
		t.Errorf("env %d entries (request %v), want the request and one per secret key", len(c.Env), sawRequest)
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.ReadOnly
	}
	if ro, ok := mounts[DataDir]; !ok || !ro {
		t.Errorf("export must mount %s read-only: %v", DataDir, mounts)
	}
	if _, ok := mounts["/mnt/nfs/backups"]; !ok {
		t.Errorf("a filesystem Location's path must be mounted: %v", mounts)
	}
}

func TestPodSecurityContextPerMode(t *testing.T) {
	for mode, want := range map[string][]string{
		ModeExport: {"DAC_READ_SEARCH"}, ModeRestore: {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}, ModeRecord: nil, ModeForget: nil,
	} {
		pod, err := Pod(PodOptions{Name: "m", Namespace: "shop", Image: "i", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		sc := pod.Spec.Containers[0].SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" || sc.Privileged != nil {
			t.Fatalf("%s: securityContext %+v, want no escalation and RuntimeDefault seccomp", mode, sc)
		}
		var added []string
		for _, c := range sc.Capabilities.Add {
			added = append(added, string(c))
		}
		if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(added, want) {
			t.Errorf("%s: capabilities drop %v add %v, want drop ALL add %v", mode, sc.Capabilities.Drop, added, want)
		}
	}
}
