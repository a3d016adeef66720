package repository_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kopia/kopia/snapshot"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// An export mover's life: open (creating on first use) the repository of a
// Location, snapshot the volume, record a restore point; then, on another
// cluster, list restore points and restore one.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "snapflow-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	// The volume to export.
	data := filepath.Join(tmp, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "hello.txt"), []byte("hello"), 0o644); err != nil {
		log.Fatal(err)
	}

	// In the mover, CredentialsFromEnv reads these from the pod's Secrets.
	creds := repository.Credentials{Password: "example-password"}
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: filepath.Join(tmp, "backups"), Prefix: "shop"}

	st, err := repository.NewStorage(ctx, loc, creds, true)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close(ctx)

	rep, err := repository.Open(ctx, st, creds.Password, filepath.Join(tmp, "config"))
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close(ctx)

	source := snapshot.SourceInfo{Host: "cluster-a", UserName: "shop", Path: "data-db-0"}
	res, err := repository.Upload(ctx, rep, data, source, 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("files:", res.Files, "bytes:", res.BytesTotal)

	_, err = repository.PutRestorePoint(ctx, rep, repository.RestorePoint{
		Blueprint: "postgres", Action: "export",
		Object:    v1alpha1.ObjectReference{Kind: "StatefulSet", Namespace: "shop", Name: "db"},
		Snapshots: map[string]string{"data-db-0": res.SnapshotID},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Another cluster lists restore points and restores the volume.
	rps, err := repository.ListRestorePoints(ctx, rep)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restore points:", len(rps), rps[0].Blueprint, rps[0].Object.Name)

	target := filepath.Join(tmp, "restored")
	if _, err := repository.Restore(ctx, rep, rps[0].Snapshots["data-db-0"], target, nil); err != nil {
		log.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(target, "hello.txt"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored:", string(b))
	// Output:
	// files: 1 bytes: 5
	// restore points: 1 postgres db
	// restored: hello
}
