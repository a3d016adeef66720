package celenv

import (
	"fmt"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Native converts a CEL result to plain Go: nil, bool, int64, uint64,
// float64, string, []byte, time.Time, time.Duration, []any and
// map[string]any. Maps with non-string keys are refused, because results
// end up as JSON in status.
func Native(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	case types.Bytes:
		return []byte(x), nil
	case types.Timestamp:
		return x.Time, nil
	case types.Duration:
		return time.Duration(x.Duration), nil
	case *types.Err:
		return nil, x
	}
	switch x := v.(type) {
	case traits.Lister:
		n := int(x.Size().(types.Int))
		out := make([]any, 0, n)
		for i := range n {
			e, err := Native(x.Get(types.Int(i)))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is %s; only string keys are supported in results", k, k.Type())
			}
			e, err := Native(x.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = e
		}
		return out, nil
	}
	if v.Type() == types.OptionalType {
		return nil, fmt.Errorf("an optional value cannot be a result; use .orValue()")
	}
	return v.Value(), nil
}
