package azureblob_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/kopia/kopia/repo/blob"

	"github.com/snapflow/snapflow/functions/kopia/azureblob"
)

// New opens a container on Azurite, whose accounts are path-style under
// one endpoint, creating the container on first use.
func ExampleNew() {
	ctx := context.Background()
	st, err := azureblob.New(ctx, &azureblob.Options{
		Endpoint:    "http://127.0.0.1:10000/devstoreaccount1",
		AccountName: "devstoreaccount1",
		AccountKey:  os.Getenv("AZURE_STORAGE_KEY"),
		Container:   "backups",
		Prefix:      "team-a/",
	}, true)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close(ctx)
	blobs, err := blob.ListAllBlobs(ctx, st, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.DisplayName(), len(blobs))
}

// Options print without their secrets.
func ExampleOptions_String() {
	opt := azureblob.Options{
		AccountName: "myaccount",
		SASToken:    "?sv=2023-11-03&sr=c&sp=rl&sig=c2VjcmV0",
		Container:   "backups",
	}
	fmt.Println(opt)
	// Output: {Endpoint:"" AccountName:"myaccount" Container:"backups" Prefix:"" auth:SAS token}
}
