package processnode_test

import (
	"fmt"
	"strings"

	"github.com/snapflow/snapflow/tests/processnode"
)

// The argv the node gives SelfExe for a container; the hidden subcommand
// passes everything after "container-init" to ContainerInit.
func ExampleContainerInitArgs() {
	args := processnode.ContainerInitArgs(processnode.InitSpec{
		Mounts: []processnode.Mount{
			{Source: "/state/pods/u1/volumes/data", Target: "/data"},
			{Source: "/state/pods/u1/volumes/kube-api-access-processnode", Target: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
		},
		WorkingDir: "/data",
		Command:    []string{"sh", "-c", "ls"},
	})
	fmt.Println(strings.Join(args, "\n"))
	// Output:
	// container-init
	// --bind
	// /state/pods/u1/volumes/data
	// /data
	// --bind-ro
	// /state/pods/u1/volumes/kube-api-access-processnode
	// /var/run/secrets/kubernetes.io/serviceaccount
	// --workdir
	// /data
	// --
	// sh
	// -c
	// ls
}
