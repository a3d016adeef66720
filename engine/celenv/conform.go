package celenv

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/google/cel-go/cel"
)

// Conform checks that v, a plain Go or JSON-decoded value, is of CEL type t
// and converts it to the form CEL evaluates (int64 for int, time.Time for
// timestamp, ...). It is strict: "3" is not an int. JSON numbers are
// accepted where they are integral for int and uint. objects resolves object
// types; an unknown object type is treated as map(string, dyn).
func Conform(v any, t *cel.Type, objects map[string]Object) (any, error) {
	if v == nil {
		return nil, nil
	}
	if n, ok := v.(json.Number); ok {
		v = number(n)
	}
	switch t.Kind() {
	case cel.DynKind, cel.AnyKind:
		return normalize(v)
	case cel.BoolKind:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case cel.IntKind:
		if i, ok := toInt(v); ok {
			return i, nil
		}
	case cel.UintKind:
		if i, ok := toInt(v); ok && i >= 0 {
			return uint64(i), nil
		}
		if u, ok := v.(uint64); ok {
			return u, nil
		}
	case cel.DoubleKind:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case cel.StringKind:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case cel.BytesKind:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			if b, err := base64.StdEncoding.DecodeString(x); err == nil {
				return b, nil
			}
		}
	case cel.DurationKind:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
		}
	case cel.TimestampKind:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return ts, nil
			}
		}
	case cel.ListKind:
		return conformList(v, t.Parameters()[0], objects)
	case cel.MapKind:
		return conformMap(v, func(string) (*cel.Type, bool) { return t.Parameters()[1], true }, objects)
	case cel.StructKind:
		o, ok := objects[t.TypeName()]
		if !ok {
			return conformMap(v, func(string) (*cel.Type, bool) { return cel.DynType, true }, objects)
		}
		return conformMap(v, func(k string) (*cel.Type, bool) {
			f, ok := o.Field(k)
			return f.Type, ok
		}, objects)
	}
	return nil, fmt.Errorf("must be %s, got %s", TypeString(t), describe(v))
}

func conformList(v any, elem *cel.Type, objects map[string]Object) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, fmt.Errorf("must be list(%s), got %s", TypeString(elem), describe(v))
	}
	out := make([]any, rv.Len())
	for i := range out {
		e, err := Conform(rv.Index(i).Interface(), elem, objects)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

func conformMap(v any, field func(string) (*cel.Type, bool), objects map[string]Object) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("must be a map, got %s", describe(v))
	}
	out := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		k := it.Key().String()
		ft, ok := field(k)
		if !ok {
			return nil, fmt.Errorf("unknown field %q", k)
		}
		e, err := Conform(it.Value().Interface(), ft, objects)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = e
	}
	return out, nil
}

// normalize converts JSON numbers and Go collections of dyn values.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return number(x), nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case []any, map[string]any:
		rv := reflect.ValueOf(x)
		if rv.Kind() == reflect.Slice {
			return conformList(v, cel.DynType, nil)
		}
		return conformMap(v, func(string) (*cel.Type, bool) { return cel.DynType, true }, nil)
	}
	return v, nil
}

func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, _ := n.Float64()
	return f
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	if i, ok := toInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// describe names the kind of a value for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int, int32, int64:
		return "int"
	case uint64:
		return "uint"
	case float32, float64:
		return "double"
	case string:
		return fmt.Sprintf("string %q", truncate(x))
	case []byte:
		return "bytes"
	case time.Time:
		return "timestamp"
	case time.Duration:
		return "duration"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
