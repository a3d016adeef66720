package csidriver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	stateFile = "state.json"
	statsFile = "stats.json"
)

// volume is one volume as recorded in state.json.
type volume struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	CapacityBytes  int64             `json:"capacityBytes"`
	Parameters     map[string]string `json:"parameters,omitempty"`
	SourceSnapshot string            `json:"sourceSnapshot,omitempty"`
	SourceVolume   string            `json:"sourceVolume,omitempty"`
	// ViewOf is set for a shallow read-only view: the snapshot it shows.
	// Such a volume has no directory of its own.
	ViewOf    string    `json:"viewOf,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// StagedAt and PublishedAt are the node paths it is mounted at.
	StagedAt    string   `json:"stagedAt,omitempty"`
	PublishedAt []string `json:"publishedAt,omitempty"`
}

// snapshot is one snapshot as recorded in state.json.
type snapshot struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	SourceVolumeID string    `json:"sourceVolumeId"`
	SizeBytes      int64     `json:"sizeBytes"`
	CreatedAt      time.Time `json:"createdAt"`
	GroupID        string    `json:"groupId,omitempty"` // set for members of a group snapshot
	// ReadyAt is when the snapshot becomes ready to use (the readyAfter
	// class parameter); zero means at once.
	ReadyAt time.Time `json:"readyAt,omitzero"`
	// Deleted marks a snapshot the CO deleted while shallow views still
	// show it: it is hidden from every call, and its directory is removed
	// with the last view.
	Deleted bool `json:"deleted,omitempty"`
}

// state is everything the driver persists in state.json.
type state struct {
	Volumes     map[string]*volume   `json:"volumes"`
	Snapshots   map[string]*snapshot `json:"snapshots"`
	Groups      map[string]*group    `json:"groups"`
	BytesCopied int64                `json:"bytesCopied"`
	// PerVolume is the bytes copied into each volume ever created; entries
	// outlive their volume so tests can assert after cleanup.
	PerVolume map[string]int64 `json:"perVolume"`
}

// Stats is the content of DataDir/stats.json: what the driver has copied.
type Stats struct {
	// BytesCopied is the total copied by full-copy restores and clones
	// since DataDir was created. Snapshots themselves are not counted: on
	// the storage this driver models they are copy-on-write and free.
	BytesCopied int64 `json:"bytesCopied"`
	// Volumes and Snapshots count what exists now; ShallowVolumes is the
	// number of those volumes that are read-only views of a snapshot.
	Volumes        int `json:"volumes"`
	ShallowVolumes int `json:"shallowVolumes"`
	Snapshots      int `json:"snapshots"`
	// PerVolume maps a volume ID to the bytes copied to create it (0 for
	// empty volumes and shallow views). Deleted volumes keep their entry.
	PerVolume map[string]int64 `json:"perVolume"`
}

// ReadStats reads DataDir/stats.json as written by a driver serving dataDir.
func ReadStats(dataDir string) (Stats, error) {
	var s Stats
	b, err := os.ReadFile(filepath.Join(dataDir, statsFile))
	if err != nil {
		return s, fmt.Errorf("read csi driver stats: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode csi driver stats: %w", err)
	}
	return s, nil
}

func loadState(path string) (*state, error) {
	st := &state{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read csi driver state: %w", err)
	default:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("decode csi driver state %s: %w", path, err)
		}
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*volume{}
	}
	if st.Snapshots == nil {
		st.Snapshots = map[string]*snapshot{}
	}
	if st.Groups == nil {
		st.Groups = map[string]*group{}
	}
	if st.PerVolume == nil {
		st.PerVolume = map[string]int64{}
	}
	return st, nil
}

func (st *state) stats() Stats {
	s := Stats{BytesCopied: st.BytesCopied, Volumes: len(st.Volumes), PerVolume: st.PerVolume}
	for _, v := range st.Volumes {
		if v.ViewOf != "" {
			s.ShallowVolumes++
		}
	}
	for _, sn := range st.Snapshots {
		if !sn.Deleted {
			s.Snapshots++
		}
	}
	return s
}

func (st *state) volumeByName(name string) *volume {
	for _, v := range st.Volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// liveSnapshot returns the snapshot with id unless it is unknown or deleted.
func (st *state) liveSnapshot(id string) *snapshot {
	if s := st.Snapshots[id]; s != nil && !s.Deleted {
		return s
	}
	return nil
}

func (st *state) snapshotByName(name string) *snapshot {
	for _, s := range st.Snapshots {
		if s.Name == name && !s.Deleted {
			return s
		}
	}
	return nil
}

// views counts the shallow volumes that show snapshot id.
func (st *state) views(id string) int {
	n := 0
	for _, v := range st.Volumes {
		if v.ViewOf == id {
			n++
		}
	}
	return n
}

// commit writes state.json and then stats.json, each atomically. Callers
// hold d.mu.
func (d *driver) commit() error {
	if err := writeJSONAtomic(filepath.Join(d.cfg.DataDir, stateFile), d.st); err != nil {
		return err
	}
	return writeJSONAtomic(filepath.Join(d.cfg.DataDir, statsFile), d.st.stats())
}

// writeJSONAtomic writes v to a temporary file next to path, syncs it and
// renames it over path, so readers never see a partial file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// removeData deletes dir, a volume or snapshot directory, unless something
// is mounted at or inside it: RemoveAll would then delete files on another
// filesystem.
func removeData(dir string) error {
	points, err := mountPoints()
	if err != nil {
		return err
	}
	for _, p := range points {
		if p == dir || strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return fmt.Errorf("remove %s: %s is mounted", dir, p)
		}
	}
	return os.RemoveAll(dir)
}

// newID returns prefix-<16 hex digits>.
func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return prefix + "-" + hex.EncodeToString(b)
}

// volumeDir is where volume id's files are; an Azure disk's ID is an ARM
// ID, hashed to a directory name.
func (d *driver) volumeDir(id string) string {
	if _, ok := parseARMID(id, "disks"); ok {
		id = diskDirName(id)
	}
	return filepath.Join(d.cfg.DataDir, "volumes", id)
}

func (d *driver) snapshotDir(id string) string {
	return filepath.Join(d.cfg.DataDir, "snapshots", id)
}

// contentDir is where a volume's files are: its own directory, or for a
// shallow view the snapshot's.
func (d *driver) contentDir(v *volume) string {
	if v.ViewOf != "" {
		return d.snapshotDir(v.ViewOf)
	}
	return d.volumeDir(v.ID)
}
