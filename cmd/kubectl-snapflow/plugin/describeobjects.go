package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// describeObjects prints the Kubernetes objects a run captured (a
// backupResources phase's counts) or recreated (a restoreResources
// phase's created, updated and skipped), by kind; nothing when it ran
// neither.
func describeObjects(w io.Writer, as *v1alpha1.ActionSet) error {
	var lines []string
	for _, p := range as.Status.Phases {
		if counts, ok := phaseCounts(p); ok {
			lines = append(lines, fmt.Sprintf("  captured by phase %s:", p.Name))
			for _, kind := range slices.Sorted(maps.Keys(counts)) {
				lines = append(lines, fmt.Sprintf("    %s\t%d", kind, counts[kind]))
			}
		}
		for _, what := range []string{"created", "updated", "skipped"} {
			byKind, ok := phaseObjects(p, what)
			if !ok || len(byKind) == 0 {
				continue
			}
			lines = append(lines, fmt.Sprintf("  %s by phase %s:", what, p.Name))
			for _, kind := range slices.Sorted(maps.Keys(byKind)) {
				lines = append(lines, fmt.Sprintf("    %s\t%s", kind, strings.Join(byKind[kind], ", ")))
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	fmt.Fprintln(w, "Objects:")
	tw := newTable(w)
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}

// phaseCounts is a backupResources phase's counts output.
func phaseCounts(p v1alpha1.PhaseStatus) (map[string]int, bool) {
	if _, ok := p.Outputs["bundle"]; !ok {
		return nil, false
	}
	var counts map[string]int
	raw, ok := p.Outputs["counts"]
	if !ok || json.Unmarshal(raw.Raw, &counts) != nil {
		return nil, false
	}
	return counts, true
}

// phaseObjects is a restoreResources phase's output what (created,
// updated or skipped): names by kind.
func phaseObjects(p v1alpha1.PhaseStatus, what string) (map[string][]string, bool) {
	if _, ok := p.Outputs["scaled"]; !ok {
		return nil, false
	}
	var byKind map[string][]string
	raw, ok := p.Outputs[what]
	if !ok || json.Unmarshal(raw.Raw, &byKind) != nil {
		return nil, false
	}
	return byKind, true
}
