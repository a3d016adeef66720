// Package repository is snapflow's one place that talks to kopia
// repositories. The mover (`snapflow mover export|restore|record|forget`)
// and the kubectl plugin (restorepoints, restore --restore-point,
// retention) call it; nothing else in snapflow calls kopia's repo or
// snapshot packages.
//
// # One Location + prefix is one repository
//
// A Location (type, endpoint, container/bucket/path) plus its prefix names
// exactly one kopia repository. [NewStorage] maps a LocationSpec to kopia's
// blob storage: filesystem → repo/blob/filesystem with the prefix as a
// subdirectory of path; s3 → repo/blob/s3; azure → functions/kopia/azureblob.
// For s3 and azure the prefix names a folder: a trailing "/" is added when
// missing, so prefix "team-a" stores "team-a/kopia.repository". Repositories
// are ordinary kopia repositories: the stock kopia CLI of the same version
// connects to them, lists their snapshots and restores them, so users are
// never locked in.
//
// # Repository format
//
// [Open] creates a repository with kopia v0.23.1's defaults, the same as
// `kopia repository create`: format version 3, hash BLAKE2B-256-128,
// encryption AES256-GCM-HMAC-SHA256, splitter DYNAMIC-4M-BUZHASH (4 MiB
// average content-defined chunks), no ECC, index v2, 20 MiB packs, scrypt to
// derive the key from the password. They are kopia's most tested settings
// and what its CLI and docs assume. File data is not compressed and
// metadata is compressed with zstd-fastest (kopia's default policy): much
// volume data is already compressed by the application, and the mover's CPU
// is better spent on parallel upload.
//
// Open creates a repository only when the storage holds no blob at all; a
// wrong password is [ErrWrongPassword] and never writes to the storage. Open
// does not protect against two movers creating the same empty repository at
// the same instant; the first export to a new Location should not race
// another.
//
// # Local config and cache
//
// configDir holds a short-lived kopia config file and, under cache/, one
// cache directory per repository (named by the repository's unique ID). The
// config never holds credentials: Open hands the already-built storage to
// kopia in memory. Caches are bounded (see [ContentCacheSoftLimit] and the
// other limits): at most 1.25 GiB, so a mover's emptyDir of 1.5 GiB is
// enough. The content cache is small because a mover reads each data chunk
// once; the metadata cache (directories, indexes, manifests) is larger
// because incremental uploads read the previous snapshot's directories.
//
// # Upload parallelism
//
// [Upload] runs `parallel` workers (0 means GOMAXPROCS, which follows the
// pod's CPU limit) that read, hash, encrypt and upload files, and, unlike
// Velero, it splits any file larger than [ParallelUploadAboveSize] (64 MiB)
// into parts that those workers upload in parallel, so a volume holding one
// large database or disk-image file uses every core too. kopia's uploader
// keeps one of its ParallelUploads goroutines for walking directories, so
// Upload sets kopia's ParallelUploads and policy MaxParallelFileReads to
// parallel+1.
// Measured with BenchmarkUploadLargeFile (one 256 MiB random file, 2 cores,
// repository in tmpfs): whole-file upload stays at ~1.3 cores and ~305 MB/s
// whatever the parallelism; split parts with parallel=2 reach 1.6-1.7
// cores and 360-420 MB/s; kopia's ParallelUploads=2 without the extra
// goroutine gains nothing from splitting. Whole-file upload can't use more
// than those ~1.3 cores on any node; split parts scale with the workers
// (not measured here beyond 2 cores). Restore writes 8 files at once, as
// the kopia CLI does.
//
// Snapshots are built from a policy fixed in code, not from kopia policies
// stored in the repository: what an export contains cannot be changed with
// the kopia CLI (no ignore files, no actions, no compression changes).
//
// # Restore points
//
// Each export stores a [RestorePoint] as a kopia manifest labelled
// type=snapflow-restore-point, so a cluster that has never seen the export
// can list it with [ListRestorePoints] (or `kopia manifest list
// --filter=type:snapflow-restore-point`). [DeleteRestorePoint] deletes the
// restore point and the snapshots only it lists; [ForgetSnapshots] deletes
// snapshots and every restore point listing them; [Expired] picks what
// retention deletes. The storage they used is freed by [Maintain], kopia's
// full maintenance, within kopia's safety margins.
//
// # Secrets
//
// Credentials come from the environment or mounted files
// ([CredentialsFromEnv]). Their values never appear in errors, logs or
// returned strings: storage and Open errors are scrubbed of them, and
// [Credentials] prints as a list of which values are set.
package repository
