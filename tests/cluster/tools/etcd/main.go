// Command etcd is etcd v3.5.21 (go.etcd.io/etcd/server/v3) for the local test
// cluster; ../build.sh builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
