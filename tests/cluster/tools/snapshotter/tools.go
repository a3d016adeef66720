//go:build tools

// Package tools pins the commands that ../build.sh builds from this module, so
// `go mod tidy` keeps their requirements. The client/v8 import keeps the
// explicit client/v8 v8.7.0 requirement: external-snapshotter's own go.mod
// replaces it with ./client, which is not inherited, and would otherwise
// select an older published client.
package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
