package functions_test

import (
	"strings"
	"testing"

	"github.com/snapflow/snapflow/engine/compile"
	"github.com/snapflow/snapflow/functions"
)

// volumeBlueprint chains the volume functions: snapflow.Snapshot is
// declared by snapshot only, yet cloneReadOnly, restore and deleteSnapshots
// take it, and its fields type-check in expressions.
const volumeBlueprint = `apiVersion: snapflow.dev/v1alpha1
kind: Blueprint
metadata: {name: volumes}
spec:
  actions:
    backup:
      phases:
      - name: snap
        func: snapshot
        args: {namespace: "${{ workload.namespace }}", pvcs: "${{ workload.pvcs.map(p, p.name) }}"}
      - name: clone
        func: cloneReadOnly
        args: {snapshots: "${{ phases.snap.snapshots }}"}
      - name: note
        func: log
        args: {message: "${{ phases.clone.pvcs[0].name }} from ${{ phases.snap.snapshots[0].FIELD }}"}
      outputs:
        snapshots: "${{ phases.snap.snapshots }}"
    restore:
      phases:
      - name: volumes
        func: restore
        args: {snapshots: "${{ artifacts.snapshots }}", names: {data: data-copy}}
      - name: note
        func: log
        args: {message: "${{ phases.volumes.pvcs[0].volumeSnapshot }}"}
    delete:
      phases:
      - name: retire
        func: deleteSnapshots
        args: {snapshots: "${{ artifacts.snapshots }}"}
`

func TestVolumeFunctionsShareSnapshotType(t *testing.T) {
	reg, err := functions.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ds := c.File("volumes.yaml", []byte(strings.Replace(volumeBlueprint, "FIELD", "snapshotHandle", 1))); ds.HasErrors() {
		t.Fatalf("does not compile:\n%v", ds.Err())
	}
	_, ds := c.File("volumes.yaml", []byte(strings.Replace(volumeBlueprint, "FIELD", "handle", 1)))
	if err := ds.Err(); err == nil || !strings.Contains(err.Error(), "undefined field 'handle'") {
		t.Fatalf("an unknown field of snapflow.Snapshot compiled: %v", err)
	}
}
