#!/usr/bin/env bash
# Builds the local test cluster's programs into a cache outside the repo:
#
#   ${SNAPFLOW_CACHE:-$HOME/.cache/snapflow}/
#     bin/kube-v1.34.4/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#     bin/etcd-v3.5.21/etcd
#     bin/csi-provisioner-v5.3.0/csi-provisioner
#     bin/external-snapshotter-v8.7.0/{snapshot-controller,csi-snapshotter,crds/*.yaml}
#     azurite-<first 12 hex of sha256(tests/cluster/azurite/package-lock.json)>/node_modules/.bin/azurite-blob
#
# Only what is missing is built. Each component is built into a temp dir and
# renamed into place when complete, so an interrupted build is never taken as
# done. One line per component: "cached" or "built in Ns".
#
# Usage: build.sh [component...]   (components: etcd kube provisioner snapshotter azurite; default all)
# Env:   SNAPFLOW_CACHE  cache root (default ~/.cache/snapflow)
#        GO_BUILD_P      go build -p (default 2)
#
# The versions below are also constants in tests/cluster/binaries.go;
# binaries_test.go fails if the two drift apart. Keep each on its own line.
set -euo pipefail

KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.5.21
PROVISIONER_VERSION=v5.3.0
SNAPSHOTTER_VERSION=v8.7.0
AZURITE_VERSION=3.37.0 # must equal the pin in ../azurite/package.json

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
azurite_src="$(cd "$here/../azurite" && pwd)"
cache="${SNAPFLOW_CACHE:-$HOME/.cache/snapflow}"
bindir="$cache/bin"
go_p="${GO_BUILD_P:-2}"

log() { printf '%s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Go: the module proxy is the only source; never download a toolchain.
if ! command -v go >/dev/null 2>&1; then
	[ -x /usr/local/go/bin/go ] || die "go not found"
	PATH="/usr/local/go/bin:$PATH"
fi
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

mkdir -p "$bindir"

# One build at a time per cache (two test runs may start us together).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.build.lock"
	flock 9
fi

# Temp dirs of this run, removed on exit; stale ones from killed runs too.
tmps=()
azurite_pid=""
cleanup() {
	local t
	# Never leave the background npm ci behind: let it finish (or fail) first.
	if [ -n "$azurite_pid" ]; then wait "$azurite_pid" 2>/dev/null || true; fi
	for t in "${tmps[@]+"${tmps[@]}"}"; do rm -rf "$t"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$bindir"/.*.tmp.* "$cache"/.azurite-*.tmp.* 2>/dev/null || true

# have DIR FILE... : DIR holds every FILE (a complete, renamed-into-place build).
have() {
	local dir=$1 f
	shift
	[ -d "$dir" ] || return 1
	for f in "$@"; do [ -e "$dir/$f" ] || return 1; done
}

# component NAME BUILDER FILE... : build NAME into $bindir/NAME unless cached.
# BUILDER is called with the temp dir to fill.
component() {
	local name=$1 builder=$2
	shift 2
	local dest="$bindir/$name"
	if have "$dest" "$@"; then
		log "$name: cached"
		return 0
	fi
	local tmp="$bindir/.$name.tmp.$$"
	tmps+=("$tmp")
	rm -rf "$tmp"
	mkdir -p "$tmp"
	local start=$SECONDS
	"$builder" "$tmp"
	have "$tmp" "$@" || die "$name: build finished without producing all of: $*"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	log "$name: built in $((SECONDS - start))s"
}

gobuild() { go build -p "$go_p" -trimpath "$@"; }

build_etcd() {
	(cd "$here/etcd" && gobuild -ldflags "-s -w" -o "$1/etcd" .)
}

build_kube() {
	local minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	local ld="-s -w" pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	# One invocation so the four commands share one compile of their packages.
	(cd "$here/kube" && gobuild -ldflags "$ld" -o "$1/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		k8s.io/kubernetes/cmd/kubectl)
}

build_provisioner() {
	(cd "$here/provisioner" && gobuild -ldflags "-s -w -X main.version=$PROVISIONER_VERSION" \
		-o "$1/csi-provisioner" github.com/kubernetes-csi/external-provisioner/v5/cmd/csi-provisioner)
}

build_snapshotter() {
	local client=github.com/kubernetes-csi/external-snapshotter/client/v8 src
	(cd "$here/snapshotter" && gobuild -ldflags "-s -w -X main.version=$SNAPSHOTTER_VERSION" -o "$1/" \
		github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller \
		github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter)
	# The CRDs live in the client module (the main module's zip leaves ./client out).
	src=$(cd "$here/snapshotter" && go mod download "$client" && go list -m -f '{{.Dir}}' "$client")
	mkdir -p "$1/crds"
	cp "$src"/config/crd/snapshot.storage.k8s.io_*.yaml "$src"/config/crd/groupsnapshot.storage.k8s.io_*.yaml "$1/crds/"
	chmod 0644 "$1"/crds/*.yaml
}

# ensure_node: node and npm as found; on a bare machine Debian's nodejs/npm
# (installing Debian's npm beside a nodejs that bundles npm would conflict, so
# each is installed only if its command is missing).
ensure_node() {
	local sudo="" pkgs=()
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
	command -v npm >/dev/null 2>&1 || [ ${#pkgs[@]} -gt 0 ] || pkgs+=(npm)
	[ ${#pkgs[@]} -gt 0 ] || return 0
	command -v apt-get >/dev/null 2>&1 || die "azurite: node/npm missing and apt-get is not available"
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	log "azurite: installing Debian's ${pkgs[*]}"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
	if ! command -v npm >/dev/null 2>&1; then
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
	fi
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		die "azurite: node/npm still missing after apt-get"
	fi
}

azurite_dir() {
	local sum
	sum=$(sha256sum "$azurite_src/package-lock.json")
	printf '%s/azurite-%s' "$cache" "${sum:0:12}"
}

build_azurite() {
	local dest tmp start
	dest=$(azurite_dir)
	if [ -x "$dest/node_modules/.bin/azurite-blob" ]; then
		log "azurite-$AZURITE_VERSION ($(basename "$dest")): cached"
		return 0
	fi
	ensure_node
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || log "azurite: warning: node $(node --version) is older than the v20 it was tested with"
	start=$SECONDS
	tmp="$cache/.$(basename "$dest").tmp.$$"
	tmps+=("$tmp")
	rm -rf "$tmp"
	mkdir -p "$tmp"
	cp "$azurite_src/package.json" "$azurite_src/package-lock.json" "$tmp/"
	(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >npm-ci.log 2>&1) ||
		{ cat "$tmp/npm-ci.log" >&2; die "azurite: npm ci failed"; }
	[ -x "$tmp/node_modules/.bin/azurite-blob" ] || die "azurite: npm ci did not install node_modules/.bin/azurite-blob"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	log "azurite-$AZURITE_VERSION ($(basename "$dest")): built in $((SECONDS - start))s"
}

selected=("$@")
for c in "${selected[@]+"${selected[@]}"}"; do
	case $c in etcd | kube | provisioner | snapshotter | azurite) ;; *) die "unknown component $c" ;; esac
done
# sel NAME: NAME was asked for (no arguments asks for all).
sel() {
	[ ${#selected[@]} -eq 0 ] && return 0
	local c
	for c in "${selected[@]}"; do [ "$c" = "$1" ] && return 0; done
	return 1
}

# npm ci is network-bound: let it run while Go compiles.
if sel azurite; then
	(trap cleanup EXIT; build_azurite) &
	azurite_pid=$!
fi
if sel etcd; then component "etcd-$ETCD_VERSION" build_etcd etcd; fi
if sel provisioner; then component "csi-provisioner-$PROVISIONER_VERSION" build_provisioner csi-provisioner; fi
if sel snapshotter; then
	component "external-snapshotter-$SNAPSHOTTER_VERSION" build_snapshotter \
		snapshot-controller csi-snapshotter \
		crds/snapshot.storage.k8s.io_volumesnapshots.yaml \
		crds/groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml
fi
if sel kube; then
	component "kube-$KUBE_VERSION" build_kube kube-apiserver kube-controller-manager kube-scheduler kubectl
fi
if [ -n "$azurite_pid" ]; then
	pid=$azurite_pid
	azurite_pid=""
	wait "$pid"
fi
