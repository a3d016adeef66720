# snapflow: see README.md. `make test` is what CI runs (through .ci/run).
GO ?= go
CONTROLLER_GEN ?= $(GO) tool controller-gen
BIN := bin
FUZZTIME ?= 60s

.PHONY: all build test unit-test e2e lint bench bench-export restic fuzz generate verify-generated clean \
	cluster-tools cluster-up cluster-down cluster-env deploy demo soak

all: build

## build: the snapflow and snapflow-local binaries into bin/
build:
	$(GO) build -o $(BIN)/snapflow ./cmd/snapflow
	$(GO) build -o $(BIN)/snapflow-local ./cmd/snapflow-local
	$(GO) build -o $(BIN)/kubectl-snapflow ./cmd/kubectl-snapflow

## demo: back up basic-app on the local cluster, lose it, restore it
demo: build cluster-tools
	bash examples/basic-app/demo.sh

## test: vet, formatting, generated files, unit tests, then the end-to-end
## tests on a real local cluster
test: lint verify-generated unit-test e2e

unit-test:
	$(GO) test -count=1 ./...

## e2e: end-to-end tests against a local cluster started by the test binary
e2e: cluster-tools
	$(GO) test -count=1 -tags e2e -timeout 20m ./tests/e2e/...

## soak: SOAK_RUNS backup-and-restore runs on the local cluster with the
## controller killed at random points, then the tally (not in make test)
SOAK_RUNS ?= 100
soak: cluster-tools
	@mkdir -p $(BIN)
	SNAPFLOW_SOAK_RUNS=$(SOAK_RUNS) $(GO) test -count=1 -tags e2e -timeout 6h -run '^TestSoak$$' -v ./tests/e2e/ > $(BIN)/soak.log 2>&1; \
	status=$$?; grep -E '^(--- |\s+soak_test|ok|FAIL)' $(BIN)/soak.log; echo "full log: $(BIN)/soak.log"; exit $$status

## cluster-tools: build (or find cached) the local cluster's binaries
cluster-tools:
	bash tests/cluster/tools/build.sh

## cluster-up / cluster-down / cluster-env: a local cluster for development
cluster-up: build cluster-tools
	$(BIN)/snapflow-local up

cluster-down: build
	$(BIN)/snapflow-local down

cluster-env: build
	@$(BIN)/snapflow-local env

KUBECTL ?= $(or $(SNAPFLOW_CACHE),$(HOME)/.cache/snapflow)/bin/kube-v1.34.4/kubectl

## deploy: install the CRDs, RBAC and the controller onto the cluster
## KUBECONFIG points at (the local cluster: eval "$$(make -s cluster-env)")
deploy: build
	$(KUBECTL) apply -f schema/crds/ -f deploy/namespace.yaml -f deploy/rbac.yaml
	sed 's|@SNAPFLOW_BINARY@|$(abspath $(BIN))/snapflow|' deploy/controller.yaml | $(KUBECTL) apply -f -
	$(KUBECTL) -n snapflow-system rollout status deployment/snapflow-controller --timeout=120s

## lint: gofmt, go vet, and `snapflow lint` over the blueprint library
lint: build
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:" $$unformatted >&2; exit 1; fi
	$(GO) vet ./...
	$(BIN)/snapflow lint blueprints

## bench: benchmarks, each reporting its ratio to a reference run; the
## controller benchmark runs 200 ActionSets on a local cluster; then the
## export benchmark table (see bench-export)
bench: cluster-tools restic
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) test -tags e2e -run '^$$' -bench BenchmarkController -benchtime 1x ./tests/e2e/
	$(GO) run ./tests/bench/export -size $(EXPORT_BENCH_SIZE)

EXPORT_BENCH_SIZE ?= 1GiB

## bench-export: only the export benchmark table (README "Export
## benchmark"): snapflow, the kopia CLI, restic and raw read on a generated
## tree in /dev/shm; EXPORT_BENCH_SIZE=64MiB for a quick run
bench-export: restic
	bash tests/cluster/tools/build.sh azurite
	$(GO) run ./tests/bench/export -size $(EXPORT_BENCH_SIZE)

## restic: Debian's restic (0.14), the export benchmark's reference
restic:
	@command -v restic >/dev/null 2>&1 || { \
		echo "restic is missing: the export benchmark compares with it; installing Debian's restic package with apt-get" >&2; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null && \
		restic version; \
	} || { echo "could not install restic: install it (apt-get install restic) and run make bench again" >&2; exit 1; }

## fuzz: fuzz decode and compile for FUZZTIME (default 60s)
fuzz:
	$(GO) test ./engine/compile -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)

JSONSCHEMA := schema/jsonschema/blueprint.schema.json
FUNCTIONS_DOC := functions/README.md

## generate: deepcopy functions and CRDs from the API types in
## schema/v1alpha1, and the blueprint JSON Schema from the function registry
generate: build
	$(CONTROLLER_GEN) object paths=./schema/...
	$(CONTROLLER_GEN) crd paths=./schema/... output:crd:artifacts:config=schema/crds
	$(BIN)/snapflow schema -o $(JSONSCHEMA)
	$(BIN)/snapflow functions -o markdown > $(FUNCTIONS_DOC)

## verify-generated: regenerate into a temp dir and diff against the tree
verify-generated: build
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(CONTROLLER_GEN) object paths=./schema/... output:object:dir=$$tmp/v1alpha1 && \
	$(CONTROLLER_GEN) crd paths=./schema/... output:crd:dir=$$tmp/crds && \
	$(BIN)/snapflow schema -o $$tmp/blueprint.schema.json && \
	$(BIN)/snapflow functions -o markdown > $$tmp/functions.md && \
	diff -u schema/v1alpha1/zz_generated.deepcopy.go $$tmp/v1alpha1/zz_generated.deepcopy.go && \
	diff -ru schema/crds $$tmp/crds && \
	diff -u $(JSONSCHEMA) $$tmp/blueprint.schema.json && \
	diff -u $(FUNCTIONS_DOC) $$tmp/functions.md || \
	{ echo 'generated files are stale: run make generate' >&2; exit 1; }

clean:
	rm -rf $(BIN)
