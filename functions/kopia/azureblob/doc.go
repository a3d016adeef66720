// Package azureblob is a kopia blob.Storage over Azure Blob Storage whose
// service endpoint is configurable.
//
// kopia's own Azure backend (github.com/kopia/kopia/repo/blob/azure) builds
// only virtual-host URLs, https://<account>.blob.core.windows.net, so it
// cannot address an emulator such as Azurite, which serves accounts
// path-style at http://127.0.0.1:PORT/<account>. This package takes the
// service URL as an option instead (an empty Endpoint still means the public
// Azure cloud), so one code path serves Azurite in tests and real Azure in
// production, authenticated with either a shared key or a SAS token.
//
// Blobs are single-shot block blobs ("Put Blob"), so a write is atomic as
// kopia requires. Times set with blob.PutOptions.SetModTime are kept in blob
// metadata under the same key kopia's own Azure backend uses, so the two
// backends agree on timestamps. Object lock (blob retention) is not
// supported: Azurite has no immutability policies to test it against, and
// asking for it returns blob.ErrUnsupportedPutBlobOption or
// blob.ErrUnsupportedObjectLock rather than silently storing unprotected
// blobs.
//
// kopia reopens a repository from a config file by storage type name, so the
// type must be in kopia's process-wide registry: New registers it, and a
// process that only opens an existing config (repo.Open without New) must
// call Register first. Secrets (AccountKey, SASToken) are tagged
// kopia:"sensitive" and never appear in errors: Azure errors are reduced to
// status and error code, and transport errors have the SAS scrubbed.
package azureblob
