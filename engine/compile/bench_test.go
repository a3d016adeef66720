package compile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/engine/plan"
)

// twentyPhases is a blueprint of 20 phases that read params, the workload
// and earlier phases' outputs, as a large real blueprint would.
func twentyPhases() []byte {
	var b strings.Builder
	b.WriteString(`apiVersion: snapflow.dev/v1alpha1
kind: Blueprint
metadata: {name: bench}
spec:
  params:
    freeze: {type: list(string), default: [fsfreeze, --freeze, /data]}
    tag: {type: string, default: nightly}
  actions:
    backup:
      phases:
      - name: p0
        func: snapshot
        args: {pvcs: "${{ workload.pvcs.map(p, p.name) }}", class: "${{ params.tag }}"}
`)
	for i := 1; i < 20; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "      - name: p%d\n        func: snapshot\n        when: size(workload.pvcs) > %d\n        args: {pvcs: \"${{ workload.pvcs.filter(p, p.storageClass != '').map(p, p.name) }}\"}\n", i, i)
		case 1:
			fmt.Fprintf(&b, "      - name: p%d\n        func: cloneReadOnly\n        retry: {attempts: 3}\n        args: {snapshots: \"${{ phases.p%d.snapshots }}\"}\n", i, i-1)
		case 2:
			fmt.Fprintf(&b, "      - name: p%d\n        func: export\n        timeout: 2h\n        args:\n          pvcs: \"${{ phases.p%d.pvcs }}\"\n          location: \"${{ location.name }}\"\n          tag: \"${{ params.tag }}-${{ action.actionSet }}-%d\"\n", i, i-1, i)
		}
	}
	b.WriteString("      outputs:\n        snapshots: \"${{ phases.p0.snapshots }}\"\n")
	return []byte(b.String())
}

// BenchmarkCompile decodes and compiles a 20-phase blueprint (goal: under
// 5 ms per blueprint). It also reports x-bare-cel, its time relative to a
// reference run in the same process: compiling the same expressions with a
// bare cel-go environment, which is the floor any CEL-based compiler pays.
func BenchmarkCompile(b *testing.B) {
	c := fakeCompiler(b)
	data := twentyPhases()
	p, ds := c.File("bench.yaml", data)
	if ds.HasErrors() {
		b.Fatalf("bench blueprint does not compile:\n%v", ds.Err())
	}
	ref := referenceNsPerOp(bareCEL(b, p))
	b.ReportAllocs()
	for b.Loop() { // b.Loop starts timing here, after the reference run
		if p, _ := c.File("bench.yaml", data); p == nil {
			b.Fatal("no plan")
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e6, "ms/blueprint")
	b.ReportMetric(perOp/ref, "x-bare-cel")
}

// referenceNsPerOp times op over at least 200 ms. (testing.Benchmark cannot
// be nested inside a running benchmark.)
func referenceNsPerOp(op func()) float64 {
	op() // warm up
	start, n := time.Now(), 0
	for time.Since(start) < 200*time.Millisecond {
		op()
		n++
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// bareCEL compiles every expression of the plan in a plain cel-go
// environment whose variables are all dyn.
func bareCEL(b *testing.B, p *plan.Blueprint) func() {
	var exprs []string
	for _, a := range p.Actions {
		for _, ph := range a.AllPhases() {
			if ph.When != nil {
				exprs = append(exprs, ph.When.Source())
			}
			for _, arg := range ph.Args {
				exprs = append(exprs, sources(arg.Value)...)
			}
		}
	}
	var opts []cel.EnvOption
	for _, v := range []string{"object", "workload", "params", "phases", "artifacts", "location", "action"} {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		for _, e := range exprs {
			if _, iss := env.Compile(e); iss.Err() != nil {
				b.Fatal(iss.Err())
			}
		}
	}
}

func sources(v plan.Value) []string {
	switch x := v.(type) {
	case *plan.Expr:
		return []string{x.Program.Source()}
	case *plan.Interpolation:
		var out []string
		for _, part := range x.Parts {
			if part.Expr != nil {
				out = append(out, part.Expr.Source())
			}
		}
		return out
	}
	return nil
}
