package resources

import "testing"

func TestHolds(t *testing.T) {
	captured := map[string]any{
		"metadata": map[string]any{"name": "shop-config", "labels": map[string]any{"app": "shop"}},
		"data":     map[string]any{"greeting": "hello"},
		"spec":     map[string]any{"ports": []any{map[string]any{"port": int64(80)}}, "replicas": int64(2)},
	}
	for _, tc := range []struct {
		name string
		have map[string]any
		want bool
	}{
		{"as captured, with what the cluster adds", map[string]any{
			"metadata": map[string]any{"name": "shop-config", "uid": "u1", "labels": map[string]any{"app": "shop"}},
			"data":     map[string]any{"greeting": "hello"},
			"spec":     map[string]any{"ports": []any{map[string]any{"port": float64(80), "protocol": "TCP"}}, "replicas": 2},
		}, true},
		{"a changed value", map[string]any{
			"metadata": map[string]any{"name": "shop-config", "labels": map[string]any{"app": "shop"}},
			"data":     map[string]any{"greeting": "changed"},
			"spec":     map[string]any{"ports": []any{map[string]any{"port": 80}}, "replicas": 2},
		}, false},
		{"a removed label", map[string]any{
			"metadata": map[string]any{"name": "shop-config"},
			"data":     map[string]any{"greeting": "hello"},
			"spec":     map[string]any{"ports": []any{map[string]any{"port": 80}}, "replicas": 2},
		}, false},
		{"a list item more", map[string]any{
			"metadata": map[string]any{"name": "shop-config", "labels": map[string]any{"app": "shop"}},
			"data":     map[string]any{"greeting": "hello"},
			"spec":     map[string]any{"ports": []any{map[string]any{"port": 80}, map[string]any{"port": 81}}, "replicas": 2},
		}, false},
	} {
		if got := Holds(tc.have, captured); got != tc.want {
			t.Errorf("%s: Holds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
