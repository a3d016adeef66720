package compile

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/plan"
)

// TestCompileValid compares the whole compiled plan of testdata/valid.yaml,
// rendered as plain data: every action's timeout, every phase's function,
// args in signature order with defaults filled in, when, timeout and retry.
func TestCompileValid(t *testing.T) {
	c := fakeCompiler(t)
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, ds := c.File("valid.yaml", data)
	if ds.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Err())
	}
	got := renderPlan(p)
	want := wantValidPlan
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compiled plan (-want +got):\n%s", diff)
	}
}

// renderedPhase is a compiled phase as comparable data.
type renderedPhase struct {
	Name, Stage, Func, When string
	Args                    []string // name type = value
	Timeout                 time.Duration
	Attempts                int
	Backoff                 string
}

type renderedAction struct {
	Timeout         time.Duration
	Phases, Finally []renderedPhase
	Outputs         string
}

type renderedPlan struct {
	Name    string
	Params  []string // name type = default
	Actions map[string]renderedAction
}

func renderPlan(p *plan.Blueprint) renderedPlan {
	out := renderedPlan{Name: p.Name, Actions: map[string]renderedAction{}}
	for _, prm := range p.Params {
		out.Params = append(out.Params, fmt.Sprintf("%s %s = %v (%v)", prm.Name, celenv.TypeString(prm.Type), prm.Default, prm.HasDefault))
	}
	phases := func(ps []*plan.Phase) []renderedPhase {
		var rs []renderedPhase
		for _, ph := range ps {
			r := renderedPhase{Name: ph.Name, Stage: string(ph.Stage), Func: ph.Func.Signature().Name,
				Timeout: ph.Timeout, Attempts: ph.Retry.Attempts,
				Backoff: fmt.Sprintf("%s x%g max %s", ph.Retry.Backoff.Duration, ph.Retry.Backoff.Factor, ph.Retry.Backoff.Cap)}
			if ph.When != nil {
				r.When = ph.When.Source()
			}
			for _, a := range ph.Args {
				r.Args = append(r.Args, fmt.Sprintf("%s %s = %s", a.Name, celenv.TypeString(a.Type), a.Value))
			}
			rs = append(rs, r)
		}
		return rs
	}
	for name, a := range p.Actions {
		ra := renderedAction{Timeout: a.Timeout, Phases: phases(a.Phases), Finally: phases(a.Finally)}
		if a.Outputs != nil {
			ra.Outputs = a.Outputs.String()
		}
		out.Actions[name] = ra
	}
	return out
}

// wantValidPlan is testdata/valid.yaml compiled against fakeRegistry.
var wantValidPlan = renderedPlan{
	Name:   "csi-crash-consistent",
	Params: []string{"freezeCommand list(string) = [] (true)"},
	Actions: map[string]renderedAction{
		"backup": {
			Timeout: 2 * time.Hour,
			Phases: []renderedPhase{
				{Name: "freeze", Stage: "main", Func: "quiesce", When: "size(params.freezeCommand) > 0",
					Args:     []string{"pod string = ${{ workload.pods[0].name }}", "command list(string) = ${{ params.freezeCommand }}"},
					Attempts: 1, Backoff: defaultBackoff},
				{Name: "snap", Stage: "main", Func: "snapshot",
					Args:     []string{"pvcs list(string) = ${{ workload.pvcs.map(p, p.name) }}", `class string = ""`, "durable bool = true"},
					Attempts: 1, Backoff: defaultBackoff},
				{Name: "clone", Stage: "main", Func: "cloneReadOnly",
					Args:     []string{"snapshots list(snapflow.test.Snapshot) = ${{ phases.snap.snapshots }}"},
					Attempts: 1, Backoff: defaultBackoff},
				{Name: "upload", Stage: "main", Func: "export", Timeout: 2 * time.Hour,
					Args: []string{"pvcs list(string) = ${{ phases.clone.pvcs }}", "location string = ${{ location.name }}",
						`tag string = "${{ action.actionSet }}-${{ phases.snap.count }}"`},
					Attempts: 3, Backoff: "5s x2 max 1m0s"},
			},
			Finally: []renderedPhase{
				{Name: "note", Stage: "finally", Func: "log",
					Args:     []string{`message string = "clones: ${{ has(phases.clone.pvcs) ? phases.clone.pvcs.join(',') : 'none' }}"`},
					Attempts: 1, Backoff: defaultBackoff},
			},
			Outputs: "{exports: ${{ phases.upload.exports }}, snapshots: ${{ phases.snap.snapshots }}}",
		},
		"restore": {Phases: []renderedPhase{
			{Name: "say", Stage: "main", Func: "log",
				Args:     []string{`message string = "restoring ${{ size(artifacts) }} artifacts into ${{ workload.namespace }}"`},
				Attempts: 1, Backoff: defaultBackoff},
		}},
		"wait": {Phases: []renderedPhase{
			{Name: "pause", Stage: "main", Func: "sleep", Args: []string{"duration duration = 90000000000"},
				Attempts: 1, Backoff: defaultBackoff},
			{Name: "pauseMore", Stage: "main", Func: "sleep",
				Args:     []string{"duration duration = ${{ duration('1m') + phases.pause.slept }}"},
				Attempts: 1, Backoff: defaultBackoff},
		}},
	},
}

// defaultBackoff is the retry backoff a phase gets when it declares none.
const defaultBackoff = "1s x2 max 1m0s"
