GO ?= go
CONTROLLER_GEN ?= $(GO) tool controller-gen

.PHONY: generate verify-generated

# generate writes the deepcopy functions and the CRDs from the API types in
# schema/v1alpha1.
generate:
	$(CONTROLLER_GEN) object paths=./schema/...
	$(CONTROLLER_GEN) crd paths=./schema/... output:crd:artifacts:config=schema/crds

# verify-generated regenerates into a temp dir and diffs it against the files in
# the tree, so it also works on a clean clone and for untracked files.
verify-generated:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(CONTROLLER_GEN) object paths=./schema/... output:object:dir=$$tmp/v1alpha1 && \
	$(CONTROLLER_GEN) crd paths=./schema/... output:crd:dir=$$tmp/crds && \
	diff -u schema/v1alpha1/zz_generated.deepcopy.go $$tmp/v1alpha1/zz_generated.deepcopy.go && \
	diff -ru schema/crds $$tmp/crds || \
	{ echo 'generated files are stale: run make generate' >&2; exit 1; }
