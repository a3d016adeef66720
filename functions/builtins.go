package functions

// Builtins returns the registry of every built-in function. Later issues add
// the volume and export functions here.
func Builtins() (*Registry, error) {
	return NewRegistry(
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
	)
}
