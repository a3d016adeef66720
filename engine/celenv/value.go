package celenv

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
)

// Value converts a Go value into the plain form CEL evaluates: structs become
// maps keyed by JSON field names (matching ObjectsOf), slices []any, and
// time.Time and time.Duration stay as they are for CEL timestamps and
// durations.
func Value(v any) any {
	return value(reflect.ValueOf(v))
}

func value(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch x := v.Interface().(type) {
	case time.Time, time.Duration:
		return x
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return value(v.Elem())
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			out[tag] = value(v.Field(i))
		}
		return out
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Bytes()
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = value(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[it.Key().String()] = value(it.Value())
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return v.Interface()
}

// JSON converts a plain value (as Native returns) into a form that encodes
// to JSON and conforms back to its CEL type: durations become "1m30s",
// timestamps RFC 3339 strings.
func JSON(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSON(e)
		}
		return out
	}
	return v
}

// FromJSON decodes a JSON value (an arg, default or output as a blueprint
// or status stores it) into the plain form CEL evaluates, numbers kept
// exact: integers stay int64.
func FromJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return Conform(v, cel.DynType, nil)
}
