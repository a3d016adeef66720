package resources

// CountByKind counts refs by kind, named as in Ref.String: Kind, or
// Kind.group outside the core group.
func CountByKind(refs []Ref) map[string]int {
	counts := map[string]int{}
	for _, r := range refs {
		counts[r.GroupKind().String()]++
	}
	return counts
}
