package functions

// Objects: deriving the CEL object types of the functions' argument and output structs.

import (
	"fmt"
	"reflect"

	"github.com/snapflow/snapflow/engine/celenv"
)

// objectOf derives the CEL object type of struct T, named snapflow.<name>
// (the Go name may differ: Snapshot is the constructor). T's fields must
// be plain, so this panics only on a programming error that every test
// run hits.
func objectOf[T any](name, doc string) celenv.Object {
	objs, err := celenv.ObjectsOf(celenv.TypePrefix, reflect.TypeFor[T]())
	if err != nil || len(objs) != 1 {
		panic(fmt.Sprintf("object type %s: %v (%d objects)", name, err, len(objs)))
	}
	o := objs[0]
	o.Name, o.Doc = celenv.TypePrefix+name, doc
	return o
}
