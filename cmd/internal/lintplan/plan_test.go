package lintplan

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/cmd/internal/cli"
)

const helloBackupPlan = `Blueprint: hello (testdata/hello.yaml)
Action:    backup
Timeout:   1h0m0s
Target:    Deployment shop/web, 3 replicas, 1 PVC (uploads)
Params:
  copies    int           2           (given)
  greeting  string        "hi there"  (given)
  mustFail  bool          false       (default)
  pause     string        "1s"        (default)
  tags      list(string)  []          (default)

Phases:
  1. greet (log)
       args:
         message: "hi there shop/web (3 replicas) tags: "
  2. wait (sleep)
       when: params.copies > 1  → true
       timeout: 10m0s
       retry: 3 attempts, backoff 2s, factor 3, max 30s
       args:
         duration: "1s"
  3. stop (fail)
       when: params.mustFail  → false: the phase is skipped
       args:
         message: "asked to fail web"

Finally:
  4. bye (log)
       args:
         message: "said: ${{ has(phases.greet.message) ? phases.greet.message : 'nothing' }}"  (at run time, from phase greet)

Outputs:
  claims: ${{ workload.pvcs.map(p, p.name) }}
  said: ${{ phases.greet.message }}
`

const podsBackupPlan = `Blueprint: pods (testdata/pods.yaml)
Action:    backup
Target:    Deployment shop/web, 3 replicas, 1 PVC (uploads)

Phases:
  1. first (log)
       args:
         message: error: ${{ workload.pods[0].name }}: index out of bounds: 0
  2. second (log)
       when: phases.first.message != ''  (decided at run time, from phase first)
       args:
         message: "Deployment at 2026-05-01T12:30:00Z, uid 00000000-0000-0000-0000-000000000000"
`

func TestPlan(t *testing.T) {
	plan := []string{"plan", "testdata/hello.yaml", "--object", "testdata/deployment.yaml"}
	cases := []struct {
		name string
		args []string
		want result
	}{
		{"deployment with param overrides", append(plan, "--action", "backup", "--param", "greeting=hi there", "--params-file", "testdata/params.yaml"),
			result{code: cli.ExitOK, out: helloBackupPlan}},
		{"location and artifacts", append(plan, "-a", "restore", "--location", "testdata/location.yaml", "--artifacts", "testdata/artifacts.yaml"),
			result{code: cli.ExitOK, out: "Blueprint: hello (testdata/hello.yaml)\nAction:    restore\n" +
				"Target:    Deployment shop/web, 3 replicas, 1 PVC (uploads)\nParams:\n" +
				"  copies    int           1        (default)\n  greeting  string        \"hello\"  (default)\n" +
				"  mustFail  bool          false    (default)\n  pause     string        \"1s\"     (default)\n" +
				"  tags      list(string)  []       (default)\n\n" +
				"Phases:\n  1. say (log)\n       args:\n         message: \"restoring 2 artifacts from offsite\"\n"}},
		{"evaluation error", []string{"plan", "testdata/pods.yaml", "-a", "backup", "--object", "testdata/deployment.yaml"},
			result{code: cli.ExitFindings, out: podsBackupPlan, errOut: "1 error evaluating action backup\n"}},
		{"bad param type", append(plan, "-a", "backup", "--param", "copies=abc", "--param", "copy=1"),
			result{code: cli.ExitFindings, errOut: "error: param \"copies\": must be int, got string \"abc\"\n" +
				"error: unknown param \"copy\" (did you mean \"copies\"?)\n"}},
		{"list param must match its type", append(plan, "-a", "backup", "--param", "copies=[1, 2]"),
			result{code: cli.ExitFindings, errOut: "error: param \"copies\": must be int, got list\n"}},
		{"blueprint with errors", []string{"plan", "testdata/bad.yaml", "-a", "backup", "--object", "testdata/deployment.yaml"},
			result{code: cli.ExitFindings, out: badDiagnostics, errOut: "2 errors in 1 of 1 file\n"}},
		{"unknown action", append(plan, "-a", "bakup"),
			result{code: cli.ExitUsage, errOut: "error: blueprint hello has no action \"bakup\" (did you mean \"backup\"?); it has backup, restore\n" +
				"Run 'snapflow plan --help' for usage.\n"}},
		{"unsupported object", []string{"plan", "testdata/hello.yaml", "-a", "backup", "--object", "testdata/location.yaml"},
			result{code: cli.ExitUsage, errOut: "error: object testdata/location.yaml: unsupported kind \"Location\"; want one of " +
				"DaemonSet, Deployment, DeploymentConfig, Job, PersistentVolumeClaim, Pod, ReplicaSet, StatefulSet\n"}},
		{"missing object file", []string{"plan", "testdata/hello.yaml", "-a", "backup", "--object", "testdata/nope.yaml"},
			result{code: cli.ExitUsage, errOut: "error: object: testdata/nope.yaml: no such file or directory\n"}},
		{"missing blueprint file", []string{"plan", "testdata/nope.yaml", "-a", "backup", "--object", "testdata/deployment.yaml"},
			result{code: cli.ExitUsage, errOut: "error: testdata/nope.yaml: no such file or directory\n"}},
		{"malformed param", append(plan, "-a", "backup", "--param", "copies"),
			result{code: cli.ExitUsage, errOut: "error: --param \"copies\": want name=value\nRun 'snapflow plan --help' for usage.\n"}},
		{"no action", plan,
			result{code: cli.ExitUsage, errOut: "error: --action is required\nRun 'snapflow plan --help' for usage.\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, snapflow(t, tc.args...), tc.want)
		})
	}
}

func TestPlanJSON(t *testing.T) {
	got := snapflow(t, "plan", "testdata/hello.yaml", "-a", "backup", "--object", "testdata/deployment.yaml",
		"--param", "tags=[a, 'b c']", "--param", "copies=3", "-o", "json")
	if got.code != cli.ExitOK {
		t.Fatalf("code = %d; stderr:\n%s", got.code, got.errOut)
	}
	var rep planReport
	if err := json.Unmarshal([]byte(got.out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got.out)
	}
	greet := rep.Phases[0].Args[0]
	if got, want := string(greet.Value), `"hello shop/web (3 replicas) tags: a, b c"`; got != want {
		t.Errorf("greet message = %s, want %s", got, want)
	}
	wait := rep.Phases[1]
	if diff := cmp.Diff(wait.When, &valueReport{Source: "params.copies > 1", Value: cli.JSONValue("true")}); diff != "" {
		t.Errorf("when (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(wait.Retry, &retryReport{Attempts: 3, Initial: "2s", Factor: 3, Max: "30s"}); diff != "" {
		t.Errorf("retry (-got +want):\n%s", diff)
	}
	bye := rep.Phases[3].Args[0]
	want := argReport{Name: "message", Type: "string", valueReport: valueReport{
		Source:  `"said: ${{ has(phases.greet.message) ? phases.greet.message : 'nothing' }}"`,
		RunTime: true, Phases: []string{"greet"},
	}}
	if diff := cmp.Diff(bye, want, cmp.AllowUnexported(argReport{})); diff != "" {
		t.Errorf("run-time arg (-got +want):\n%s", diff)
	}
	if rep.Phases[3].Stage != "finally" || rep.Workload.Namespace != "shop" || len(rep.Outputs) != 2 {
		t.Errorf("report = %+v", rep)
	}
}

func TestParamValue(t *testing.T) {
	plan := snapflowPlan(t)
	cases := []struct {
		name, param, text string
		want              any
	}{
		{"int", "copies", "3", int64(3)},
		{"string taken as is", "greeting", "123", "123"},
		{"string with YAML syntax taken as is", "greeting", "[a, b]", "[a, b]"},
		{"undeclared list", "freeze", "[fsfreeze, -f, /data]", []any{"fsfreeze", "-f", "/data"}},
		{"undeclared map", "labels", "{app: web}", map[string]any{"app": "web"}},
		{"undeclared scalar", "s", "abc", "abc"},
		{"empty", "n", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := paramValue(plan, tc.param, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("value (-got +want):\n%s", diff)
			}
		})
	}
}

func TestPhaseRefs(t *testing.T) {
	cases := []struct {
		expr  string
		names []string
		reads bool
	}{
		{"params.copies > 1", nil, false},
		{"phases.first.message != ''", []string{"first"}, true},
		{"has(phases.a.x) && phases.b.y > phases.a.z", []string{"a", "b"}, true},
		{"size(phases) > 0", nil, true},
	}
	for _, tc := range cases {
		names, reads := phaseRefs(tc.expr)
		if diff := cmp.Diff(names, tc.names); diff != "" || reads != tc.reads {
			t.Errorf("phaseRefs(%q) = %v, %v; want %v, %v", tc.expr, names, reads, tc.names, tc.reads)
		}
	}
}
