package diag

import (
	"fmt"
	"slices"
)

// Suggest returns ` (did you mean "x"?)` naming the candidate closest to
// name, or "" when none is close enough to be a likely typo.
func Suggest(name string, candidates []string) string {
	best, bestDist := "", len(name)/2+2
	sorted := slices.Sorted(slices.Values(candidates)) // deterministic on ties
	for _, c := range sorted {
		if d := distance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
