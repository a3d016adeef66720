//go:build tools

// Package tools pins the command that ../build.sh builds from this module, so
// `go mod tidy` keeps its requirements.
package tools

import _ "github.com/kubernetes-csi/external-provisioner/v5/cmd/csi-provisioner"
