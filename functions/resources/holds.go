package resources

import "reflect"

// Holds reports whether have (an object as the cluster returns it) holds
// every field of want (a captured one) with the same value: what the
// cluster added, such as defaults and its own metadata, does not count as
// a difference, a changed or removed field does. Lists must have the same
// length, each item held.
func Holds(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !Holds(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !Holds(h[i], w[i]) {
				return false
			}
		}
		return true
	case nil:
		return true
	}
	return reflect.DeepEqual(normalNumber(have), normalNumber(want))
}

// normalNumber makes JSON numbers of any Go type comparable.
func normalNumber(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}
