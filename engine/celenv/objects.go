package celenv

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Object declares a CEL object type whose values are maps at run time. It
// lets the checker type a select such as workload.pvcs[0].storageClass, or
// phases.snap.snapshots, and reject unknown fields before anything runs.
type Object struct {
	Name   string // qualified CEL type name, e.g. snapflow.Workload
	Doc    string
	Fields []Field
}

// Field is one field of an Object.
type Field struct {
	Name string
	Type *cel.Type
	Doc  string
}

// Type is the CEL type of the object.
func (o Object) Type() *cel.Type { return cel.ObjectType(o.Name) }

// Field returns the named field.
func (o Object) Field(name string) (Field, bool) {
	i := slices.IndexFunc(o.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return o.Fields[i], true
}

// FieldNames lists the object's field names in declaration order.
func (o Object) FieldNames() []string {
	names := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		names[i] = f.Name
	}
	return names
}

// ObjectsOf derives Objects from a Go struct type, one per struct reached
// through its fields, using JSON field names. The first is t's own.
// Go types map to CEL as: string, bool, ints (int), uints (uint), floats
// (double), time.Time (timestamp), time.Duration (duration), slices (list),
// string-keyed maps (map), structs (objects named prefix+GoName), any (dyn).
func ObjectsOf(prefix string, t reflect.Type) ([]Object, error) {
	d := deriver{prefix: prefix, seen: map[reflect.Type]bool{}}
	if _, err := d.typeOf(t); err != nil {
		return nil, err
	}
	return d.objects, nil
}

type deriver struct {
	prefix  string
	seen    map[reflect.Type]bool
	objects []Object
}

var timeType = reflect.TypeFor[time.Time]()
var durationType = reflect.TypeFor[time.Duration]()

func (d *deriver) typeOf(t reflect.Type) (*cel.Type, error) {
	switch {
	case t == timeType:
		return cel.TimestampType, nil
	case t == durationType:
		return cel.DurationType, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return d.typeOf(t.Elem())
	case reflect.String:
		return cel.StringType, nil
	case reflect.Bool:
		return cel.BoolType, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cel.IntType, nil
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cel.UintType, nil
	case reflect.Float32, reflect.Float64:
		return cel.DoubleType, nil
	case reflect.Interface:
		return cel.DynType, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return cel.BytesType, nil
		}
		elem, err := d.typeOf(t.Elem())
		return cel.ListType(elem), err
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings", t)
		}
		elem, err := d.typeOf(t.Elem())
		return cel.MapType(cel.StringType, elem), err
	case reflect.Struct:
		return d.object(t)
	}
	return nil, fmt.Errorf("%s: no CEL type for Go kind %s", t, t.Kind())
}

func (d *deriver) object(t reflect.Type) (*cel.Type, error) {
	name := d.prefix + t.Name()
	if d.seen[t] {
		return cel.ObjectType(name), nil
	}
	d.seen[t] = true
	idx := len(d.objects)
	d.objects = append(d.objects, Object{Name: name})
	var fields []Field
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		ft, err := d.typeOf(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		fields = append(fields, Field{Name: tag, Type: ft, Doc: f.Tag.Get("doc")})
	}
	d.objects[idx].Fields = fields
	return cel.ObjectType(name), nil
}

// provider resolves Objects and delegates every other type to base.
type provider struct {
	base    types.Provider
	objects map[string]Object
}

var _ types.Provider = (*provider)(nil)

func newProvider(base types.Provider, objs []Object) (*provider, error) {
	p := &provider{base: base, objects: make(map[string]Object, len(objs))}
	for _, o := range objs {
		if _, dup := p.objects[o.Name]; dup {
			return nil, fmt.Errorf("object type %s declared twice", o.Name)
		}
		p.objects[o.Name] = o
	}
	return p, nil
}

func (p *provider) EnumValue(name string) ref.Val { return p.base.EnumValue(name) }

func (p *provider) FindIdent(name string) (ref.Val, bool) { return p.base.FindIdent(name) }

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.base.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.objects[name]; ok {
		return o.FieldNames(), true
	}
	return p.base.FindStructFieldNames(name)
}

// FindStructFieldType types a field. IsSet and GetFrom stay nil, so the
// interpreter selects fields from the run-time maps as map keys.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.objects[name]; ok {
		f, ok := o.Field(field)
		if !ok {
			return nil, false
		}
		return &types.FieldType{Type: f.Type}, true
	}
	return p.base.FindStructFieldType(name, field)
}

// NewValue refuses to construct snapflow objects in expressions; they are
// inputs only.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objects[name]; ok {
		return types.NewErr("cannot construct %s in an expression", name)
	}
	return p.base.NewValue(name, fields)
}
