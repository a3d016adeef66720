package plugin

import (
	"testing"

	"github.com/snapflow/snapflow/functions/kopia/repository"
)

func TestRestorePointSource(t *testing.T) {
	for _, tc := range []struct {
		name      string
		artifacts map[string]any
		want      string
	}{
		{"exports", map[string]any{"exports": []any{map[string]any{"pvc": "data"}}}, "export"},
		{"DR copies, nothing exported", map[string]any{"exports": []any{}, "drCopies": []any{map[string]any{"pvc": "data"}}}, "drCopy"},
		{"both", map[string]any{"exports": []any{map[string]any{"pvc": "data"}}, "drCopies": []any{map[string]any{"pvc": "data"}}}, "export"},
		{"neither", map[string]any{"snapshots": []any{}}, "export"},
	} {
		if got := restorePointSource(repository.RestorePoint{Artifacts: tc.artifacts}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRetentionHoldsRestorePointsWithDRCopies(t *testing.T) {
	plain := repository.RestorePoint{ID: "a", Artifacts: map[string]any{"exports": []any{map[string]any{"pvc": "data"}}}}
	dr := repository.RestorePoint{ID: "b", Artifacts: map[string]any{"drCopies": []any{map[string]any{"pvc": "data"}, map[string]any{"pvc": "logs"}}}}
	deletable, held := withoutDRCopies([]repository.RestorePoint{plain, dr})
	if len(deletable) != 1 || deletable[0].ID != "a" || len(held) != 1 || held[0].ID != "b" || drCopyCount(held[0]) != 2 {
		t.Errorf("deletable %v, held %v; want a deletable, b held with 2 copies", deletable, held)
	}
}
