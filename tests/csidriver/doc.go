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
package csidriver
