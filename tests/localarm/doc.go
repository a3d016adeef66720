// Package localarm is a local stand-in for Azure Resource Manager that
// serves the part of Microsoft.Compute that managed-disk snapshots use:
// snapshots and disks (PUT, GET, DELETE, list), snapshot access (grant and
// revoke a read SAS), incremental snapshot copy across regions (CopyStart)
// and snapshots imported from page blobs (Import), plus a minimal Microsoft
// Entra ID (AAD) token endpoint for client secrets.
//
// Azure Resource Manager cannot run here, so this package speaks its REST
// protocol, api-version 2024-03-02, closely enough that the real SDK
// (armcompute v6, azcore's pollers and retry policy, azidentity) drives it
// unchanged; the package's tests do exactly that. State is in memory and
// shared by every subscription, resource group and region it is told about.
// Disk and snapshot data are kept as 1 MiB blocks, absent blocks reading as
// zeros, so a 1 GiB disk costs only what is written to it.
//
// # What it does as Azure documents it
//
//   - Resource IDs are case-insensitive; a resource keeps the casing of its
//     creating PUT. A PUT into a resource group that Options does not list
//     fails 404 ResourceGroupNotFound; an unknown resource is 404
//     ResourceNotFound; DELETE of an unknown resource is 204.
//   - Errors are {"error":{"code","message"}} with the code also in
//     x-ms-error-code.
//   - PUT, DELETE, beginGetAccess and endGetAccess are long-running: they
//     answer 202 with absolute Azure-AsyncOperation and Location URLs (never
//     201). The Azure-AsyncOperation URL answers {"status":"InProgress"} once,
//     then Succeeded or Failed (with "error"); the Location URL answers 202
//     while in progress and then the final result, which for beginGetAccess
//     is {"accessSAS":"..."}. No Retry-After is sent on LRO responses, so a
//     client's PollUntilDoneOptions.Frequency sets the pace.
//   - CopyStart's LRO only creates the snapshot; the data copy then goes on,
//     shown by properties.completionPercent. A copy whose source is deleted
//     before it finishes ends with copyCompletionError CopySourceNotFound.
//   - beginGetAccess uploads the data as a fixed VHD (the data and a 512-byte
//     footer) to a page blob in the storage account of the resource's
//     region and returns a read SAS for it; diskState is ActiveSAS until
//     endGetAccess, which deletes the blob.
//   - Import reads a fixed-VHD page blob through the storage account named
//     by storageAccountId (required).
//
// # What it assumes where Azure's behaviour is undocumented
//
// The error codes below are this package's choice; Azure documents the
// rules but not the codes, and code tested here should not depend on them
// beyond the HTTP status. Where Azure's behaviour is unknown, the stand-in
// is the stricter of the plausible behaviours, so that code that works here
// also works on Azure.
//
//   - Copy (a snapshot of a disk, a disk from a snapshot) needs the source
//     in the target's region: 400 InvalidParameter otherwise.
//   - CopyStart needs an incremental snapshot as source, an incremental
//     target and a target region other than the source's: 400 BadRequest
//     otherwise. One copy per disk (incremental snapshot family) runs at a
//     time and at most 100 per subscription and target region: 409
//     OperationNotAllowed otherwise. Copies of a family must be made in the
//     order the snapshots were created: 400 BadRequest for an older one.
//   - A CopyStart copy moves only the 1 MiB blocks that differ from the
//     latest finished copy of the same family in the target region (all
//     non-zero blocks for the first); Server.CopyBytes reports it.
//   - completionPercent grows by Options.CopyStep (default 25) on each GET
//     of the copy after its LRO has succeeded, so tests are deterministic;
//     listing does not advance it. A copy not yet at 100 cannot be a source
//     or granted access: 409 OperationNotAllowed.
//   - Deleting a resource with an active SAS fails 409 OperationNotAllowed;
//     a second beginGetAccess while one is active returns the same SAS.
//     Only Read access and the VHD file format are modelled. Access does not
//     end by itself when durationInSeconds passes, though an Azurite SAS
//     expires then.
//   - Import needs the storage account in the target's region and a blob
//     that is a fixed VHD whose data length is a multiple of 1 MiB: 400
//     InvalidParameter otherwise.
//   - A PUT of an existing resource with the same creationData updates its
//     tags; a different creationData fails 409 PropertyChangeNotAllowed.
//   - provisioningState is Updating until the PUT's LRO succeeds. An LRO
//     succeeds on the second poll of either of its URLs; a GET of the
//     resource counts as a poll of its PUT.
//   - Names follow Compute's rule for disks and snapshots (400
//     InvalidResourceName otherwise); locations must be ones Options names
//     (400 LocationNotAvailableForResourceType otherwise). A creationData
//     source or storage account that does not exist is 404
//     ResourceNotFound.
//   - An api-version other than 2024-03-02 fails 400
//     NoRegisteredProviderFound; none at all 400 MissingApiVersionParameter.
//   - Throttling (Server.Throttle) answers 429 TooManyRequests with
//     Retry-After: 1.
//   - With Options.RequireToken or Options.Clients set, requests need a
//     bearer token: that token or one the token endpoint issued. A missing
//     header is 401 AuthenticationFailed, a wrong token 401
//     InvalidAuthenticationToken.
//   - ControlPath (/localarm/v1/control) is not Azure's either: an e2e test
//     in another process reads CopyBytes and calls Throttle through it.
//   - DataPath (/localarm/v1/data) is not Azure's but a test-only door to
//     the data, WriteDisk and ReadData for a process that cannot call them
//     (tests/csidriver's Azure-disk personality): PUT ?id=&offset= writes
//     the body to a disk, GET ?id=&offset=&length= reads a disk or
//     snapshot. It checks tokens as ARM does and answers errors in ARM's
//     envelope, but takes no api-version and is never throttled.
//     DataClient is its client.
//
// Not modelled: PATCH (Update), disk attachment, upload disks (Write
// access), VHDX, zones beyond echoing them, pagination (lists are one page)
// and request rate limits other than Server.Throttle.
//
// # Tests
//
// The package's tests drive the server with armcompute v6 and azidentity
// over httptest, with MemBlobs standing in for storage. TestAzuriteVHDPath
// runs the VHD path on real Azurite when LOCALARM_AZURITE names its
// endpoint (http://127.0.0.1:PORT) and LOCALARM_AZURITE_ACCOUNTS its
// accounts as "eastus:KEY;westus:KEY" (Azurite's AZURITE_ACCOUNTS form, as
// tests/cluster starts it, with --skipApiVersionCheck); it is skipped
// otherwise.
package localarm
