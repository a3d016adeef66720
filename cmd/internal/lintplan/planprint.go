package lintplan

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// printPlan writes the report as text.
func printPlan(w io.Writer, rep *planReport) error {
	p := &printer{w: w}
	p.line("Blueprint: %s (%s)", rep.Blueprint, rep.File)
	p.line("Action:    %s", rep.Action)
	if rep.Timeout != "" {
		p.line("Timeout:   %s", rep.Timeout)
	}
	p.line("Target:    %s", target(rep.Workload))
	if len(rep.Params) > 0 {
		p.line("Params:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, pr := range rep.Params {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t(%s)\n", pr.Name, pr.Type, pr.Value, pr.From)
		}
		p.err = firstErr(p.err, tw.Flush())
	}
	stage := ""
	for i, ph := range rep.Phases {
		if ph.Stage != stage {
			stage = ph.Stage
			p.line("")
			p.line("%s:", stageTitle(stage))
		}
		p.phase(i+1, ph)
	}
	if len(rep.Outputs) > 0 {
		p.line("")
		p.line("Outputs:")
		for _, o := range rep.Outputs {
			p.line("  %s: %s", o.Name, o.Source)
		}
	}
	return p.err
}

// printer writes lines and keeps the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) phase(n int, ph phaseReport) {
	p.line("  %d. %s (%s)", n, ph.Name, ph.Func)
	if ph.When != nil {
		p.line("       when: %s", whenText(*ph.When))
	}
	if ph.Timeout != "" {
		p.line("       timeout: %s", ph.Timeout)
	}
	if r := ph.Retry; r != nil {
		p.line("       retry: %d attempts, backoff %s, factor %s, max %s", r.Attempts, r.Initial, strconv.FormatFloat(r.Factor, 'g', -1, 64), r.Max)
	}
	if len(ph.Args) == 0 {
		p.line("       args: none")
		return
	}
	p.line("       args:")
	for _, a := range ph.Args {
		p.line("         %s: %s", a.Name, valueText(a.valueReport))
	}
}

// valueText is the value, or its source marked as known at run time, or
// the evaluation error.
func valueText(v valueReport) string {
	switch {
	case v.Error != "":
		return "error: " + v.Error
	case v.RunTime:
		return v.Source + "  " + runTimeNote(v.Phases)
	}
	return string(v.Value)
}

func whenText(v valueReport) string {
	switch {
	case v.Error != "":
		return v.Source + "  error: " + v.Error
	case v.RunTime:
		return v.Source + "  (decided at run time" + fromPhases(v.Phases) + ")"
	case string(v.Value) == "false":
		return v.Source + "  → false: the phase is skipped"
	}
	return v.Source + "  → " + string(v.Value)
}

func runTimeNote(phases []string) string {
	return "(at run time" + fromPhases(phases) + ")"
}

// fromPhases is ", from phase a" or ", from phases a, b".
func fromPhases(phases []string) string {
	switch len(phases) {
	case 0:
		return ""
	case 1:
		return ", from phase " + phases[0]
	}
	return ", from phases " + strings.Join(phases, ", ")
}

func stageTitle(stage string) string {
	if stage == string(v1alpha1.PhaseStageFinally) {
		return "Finally"
	}
	return "Phases"
}

// target summarizes the workload: "StatefulSet shop/db, 2 replicas, 2 PVCs
// (data-db-0, data-db-1)".
func target(w celenv.Workload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s, %s", w.Kind, w.Namespace, w.Name, plural(int(w.Replicas), "replica"))
	if len(w.Pods) > 0 {
		fmt.Fprintf(&b, ", %s", plural(len(w.Pods), "pod"))
	}
	names := make([]string, len(w.PVCs))
	for i, p := range w.PVCs {
		names[i] = p.Name
	}
	fmt.Fprintf(&b, ", %s", plural(len(w.PVCs), "PVC"))
	if len(names) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(names, ", "))
	}
	return b.String()
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
