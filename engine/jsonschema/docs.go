package jsonschema

// Descriptions of the blueprint fields, from the doc comments of the API
// types in schema/v1alpha1 (blueprint_types.go). Keep them in step.
const (
	docBlueprint = "A snapflow Blueprint says, for one kind of application, how to back it up and restore it: " +
		"named actions, each an ordered list of phases that call registered functions with CEL arguments."
	docSpec   = "Declares the blueprint's params and actions."
	docParams = "Declares the inputs an ActionSet may set, by name. Expressions read them as params.<name>."
	docParam  = "Declares one blueprint param."

	docParamType = "The param's CEL type: bool, int, uint, double, string, bytes, duration, timestamp, dyn, " +
		"list(T) or map(K, V)."
	docParamDefault     = "Used when the ActionSet does not set the param. A param without a default is required."
	docParamDescription = "Shown in docs and by `snapflow plan`."

	docActions = "The things this blueprint can do (backup, restore, ...), by name. An ActionSet runs exactly one of them."
	docAction  = "One action of a blueprint: phases that run in order, finally phases that always run, and outputs."

	docActionDescription = "Says what the action does."
	docActionTimeout     = "Bounds the whole action, finally phases excluded, as a Go duration (\"90m\"). " +
		"Empty means no limit."
	docPhases  = "Phases run in order; the first failure stops the action."
	docFinally = "Finally phases always run after the phases, whether they succeeded, failed or were cancelled."
	docOutputs = "Outputs become the restore point (the ActionSet's output artifacts): name to value, " +
		"where values may hold ${{ }} expressions."

	docPhase     = "One step of an action: a call of a registered function."
	docPhaseName = "Identifies the phase; later phases read its outputs as phases.<name>.<output>."
	docPhaseFunc = "The registered function to call (see `snapflow functions`)."
	docPhaseArgs = "The function's arguments by name. A string that is exactly ${{ expr }} yields the " +
		"expression's typed value; ${{ }} inside a longer string interpolates."
	docPhaseWhen    = "A bare CEL boolean (no ${{ }}); the phase is skipped when it is false."
	docPhaseTimeout = "Bounds one attempt of the phase, as a Go duration (\"10m\")."

	docRetry          = "Re-runs a failed attempt."
	docRetryAttempts  = "The total number of tries, the first included."
	docBackoff        = "Spaces the attempts; the default starts at 1s and doubles up to 1m."
	docBackoffInitial = "The first wait, as a Go duration. Default 1s."
	docBackoffFactor  = "Multiplies the wait after each attempt. Default 2."
	docBackoffMax     = "Caps the wait, as a Go duration. Default 1m."
)
