package functions

import "github.com/snapflow/snapflow/engine/function"

// Builtins returns the registry of every built-in function. Later issues add
// the volume and export functions here.
func Builtins() (*function.Registry, error) {
	return function.NewRegistry(
		Log(),
		Sleep(),
		Fail(),
		KubeExec(),
		KubeTask(),
		Wait(),
		ScaleWorkload(),
		Quiesce(),
		Snapshot(),
		CloneReadOnly(),
		Restore(),
		DeleteSnapshots(),
		Export(),
		BackupResources(),
		RestoreResources(),
		CrossRegionCopy(),
	)
}
