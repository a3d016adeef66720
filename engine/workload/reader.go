package workload

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// reader reads typed fields from an unstructured object, collecting an
// error for every field of the wrong type. A missing field reads as its
// zero value.
type reader struct {
	errs *[]error
	at   string // path of the object read, for messages
}

func newReader() *reader { return &reader{errs: new([]error)} }

// in returns a reader for the nested object at path, sharing the errors.
func (r *reader) in(path string) *reader {
	return &reader{errs: r.errs, at: r.path(path)}
}

func (r *reader) path(p string) string {
	if r.at == "" {
		return p
	}
	return r.at + "." + p
}

// fail records an error about the field at path, once.
func (r *reader) fail(path, format string, args ...any) {
	err := fmt.Errorf("%s: %s", r.path(path), fmt.Sprintf(format, args...))
	for _, e := range *r.errs {
		if e.Error() == err.Error() {
			return
		}
	}
	*r.errs = append(*r.errs, err)
}

func (r *reader) err() error { return errors.Join(*r.errs...) }

// get walks path from m; ok is false when a field on the way is absent.
func (r *reader) get(m map[string]any, path ...string) (any, bool) {
	var cur any = m
	for i, key := range path {
		obj, isMap := cur.(map[string]any)
		if !isMap {
			if cur != nil {
				r.fail(strings.Join(path[:i], "."), "must be an object, got %s", describe(cur))
			}
			return nil, false
		}
		cur = obj[key]
	}
	return cur, cur != nil
}

func (r *reader) str(m map[string]any, path ...string) string {
	v, ok := r.get(m, path...)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(strings.Join(path, "."), "must be a string, got %s", describe(v))
	}
	return s
}

// quantity reads a resource quantity, written as a string ("10Gi") or a
// plain number.
func (r *reader) quantity(m map[string]any, path ...string) string {
	v, ok := r.get(m, path...)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	r.fail(strings.Join(path, "."), "must be a quantity such as 10Gi, got %s", describe(v))
	return ""
}

// intOr reads a non-negative integer, or def when the field is absent.
func (r *reader) intOr(def int64, m map[string]any, path ...string) int64 {
	v, ok := r.get(m, path...)
	if !ok {
		return def
	}
	var i int64
	switch x := v.(type) {
	case int64:
		i = x
	case int:
		i = int64(x)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			r.fail(strings.Join(path, "."), "must be an integer, got %v", x)
			return def
		}
		i = int64(x)
	default:
		r.fail(strings.Join(path, "."), "must be an integer, got %s", describe(v))
		return def
	}
	if i < 0 {
		r.fail(strings.Join(path, "."), "must not be negative, got %d", i)
		return def
	}
	return i
}

func (r *reader) object(m map[string]any, path ...string) map[string]any {
	v, ok := r.get(m, path...)
	if !ok {
		return nil
	}
	obj, isMap := v.(map[string]any)
	if !isMap {
		r.fail(strings.Join(path, "."), "must be an object, got %s", describe(v))
	}
	return obj
}

func (r *reader) list(m map[string]any, path ...string) []any {
	v, ok := r.get(m, path...)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		r.fail(strings.Join(path, "."), "must be a list, got %s", describe(v))
	}
	return l
}

// objects reads a list of objects.
func (r *reader) objects(m map[string]any, path ...string) []map[string]any {
	var out []map[string]any
	for i, v := range r.list(m, path...) {
		obj, ok := v.(map[string]any)
		if !ok {
			r.fail(fmt.Sprintf("%s[%d]", strings.Join(path, "."), i), "must be an object, got %s", describe(v))
			continue
		}
		out = append(out, obj)
	}
	return out
}

// strs reads a list of strings; absent reads as an empty list.
func (r *reader) strs(m map[string]any, path ...string) []string {
	out := []string{}
	for i, v := range r.list(m, path...) {
		s, ok := v.(string)
		if !ok {
			r.fail(fmt.Sprintf("%s[%d]", strings.Join(path, "."), i), "must be a string, got %s", describe(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

// describe names the JSON kind of a value for error messages.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
