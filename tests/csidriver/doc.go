// Package csidriver is snapflow's own small, directory-backed CSI driver for
// the local test cluster (the upstream hostpath driver is not available).
//
// Run serves the CSI Identity, Controller and Node services on a unix socket.
// Everything lives under Config.DataDir:
//
//	volumes/<id>/    one directory per volume (absent for shallow views)
//	snapshots/<id>/  a point-in-time copy of a volume directory
//	state.json       volumes and snapshots, so a restarted driver keeps them
//	stats.json       bytes copied, counts; read it with ReadStats
//
// The driver models the cost that Ceph RBD imposes on backups: a volume
// created from a snapshot with any writable access mode is a full copy of the
// snapshot (its bytes are counted in stats.json), while a volume created from
// a snapshot with only read-only access modes (SINGLE_NODE_READER_ONLY,
// MULTI_NODE_READER_ONLY) is a shallow view that copies nothing and is
// published by bind-mounting the snapshot directory read-only. Clones
// (a volume created from a volume) are always full copies.
//
// Deleting a snapshot that shallow views still show succeeds at once: the
// snapshot disappears from ListSnapshots and can no longer be used as a
// source, but its data stays on disk until the last view is deleted. This is
// what ceph-csi does for CephFS backingSnapshot volumes, and it keeps the
// snapshot-controller from retrying a refused deletion.
//
// The GroupController service offers volume group snapshots: one snapshot
// per source volume, all taken under the driver's lock.
//
// # The Azure-disk personality
//
// With Config.AzureDisk the driver behaves like the Azure Disk CSI driver
// (disk.csi.azure.com) on an Azure Resource Manager, the local one of
// tests/localarm, so that snapshots copied across regions by crossRegionCopy
// restore as on Azure. A volume is still a directory, volumes/disk-<hash of
// its ID>/, but also a managed disk named after the CSI name (whole GiB),
// whose ARM ID is the volume ID. CreateSnapshot writes the directory to the
// disk as a tar stream at offset 0 (through the local ARM's data endpoint,
// in lexical order, so unchanged files keep their blocks) and takes an
// incremental snapshot of the disk in the driver's region: its ARM ID is
// the snapshot handle. CreateVolume from a snapshot, any snapshot ARM
// knows, copies it to a new disk (ARM refuses a snapshot of another region:
// InvalidArgument) and unpacks the disk into the directory. ListSnapshots
// of one ID asks ARM, so a pre-provisioned VolumeSnapshotContent of a DR
// copy is ready once provisioned and fully copied. Deletion deletes the ARM
// resource the ID names. There are no shallow views (every restore is a
// full copy, counted in stats.json) and no group snapshots.
package csidriver
