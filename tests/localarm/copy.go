package localarm

import "fmt"

// copyJob is the data copy of a CopyStart snapshot, which goes on after its
// LRO has succeeded.
type copyJob struct {
	source    string // key of the source snapshot's ID
	sourceSeq int64  // the source's creation order
	percent   float32
	bytes     int64  // what the copy moves
	baseline  string // the earlier copy it was diffed against; "" for a full copy
	err       *wireCopyError
}

func (c *copyJob) inProgress() bool { return c.err == nil && c.percent < 100 }
func (c *copyJob) done() bool       { return c.err == nil && c.percent >= 100 }

// maxParallelCopies is Azure's documented limit of CopyStart copies in
// progress per subscription and target region.
const maxParallelCopies = 100

// startCopy makes res a CopyStart copy of the snapshot sp names, after the
// checks Azure documents (codes assumed; see the package doc). s.mu must be
// held.
func (s *Server) startCopy(res *resource, sp spec) *apiError {
	src, ok := s.res[key(sp.cd.SourceResourceID)]
	switch {
	case !ok:
		return sourceNotFound(sp.cd.SourceResourceID)
	case src.kind != kindSnapshot:
		return badRequest("CopyStart copies snapshots; '%s' is a %s.", src.id, src.kind.singular())
	case !src.incremental:
		return badRequest("CopyStart copies incremental snapshots only; '%s' is a full snapshot.", src.id)
	case !sp.incremental:
		return badRequest("A snapshot created with CopyStart must be incremental.")
	case src.location == res.location:
		return badRequest("CopyStart copies to another region; '%s' is already in '%s' (use Copy).", src.id, src.location)
	}
	if err := src.usable(); err != nil {
		return err
	}
	running := 0
	var base *resource // the latest finished copy of the family in res's region
	for _, o := range s.res {
		c := o.copy
		if c == nil || o.familyID != src.familyID && !c.inProgress() {
			continue
		}
		sameRegion := o.location == res.location && key(o.group.sub) == key(res.group.sub)
		if c.inProgress() && sameRegion {
			running++
		}
		if o.familyID != src.familyID {
			continue
		}
		switch {
		case c.inProgress():
			return notAllowed("Snapshot '%s' of the same disk is still being copied to '%s'; one snapshot of a disk is copied at a time.", o.id, o.location)
		case sameRegion && c.done() && c.sourceSeq > src.seq:
			return badRequest("A snapshot of the same disk newer than '%s' was already copied to '%s' ('%s'); copy snapshots in the order they were created.", src.id, o.location, o.id)
		case sameRegion && c.done() && (base == nil || c.sourceSeq > base.copy.sourceSeq):
			base = o
		}
	}
	if running >= maxParallelCopies {
		return notAllowed("%d snapshot copies are already in progress to '%s' in this subscription.", running, res.location)
	}
	job := &copyJob{source: key(src.id), sourceSeq: src.seq}
	var baseData blocks
	if base != nil {
		baseData, job.baseline = base.data, base.id
	}
	job.bytes = src.data.diff(baseData) * BlockSize
	res.copy = job
	res.size, res.data = src.size, src.data.clone()
	res.familyID = src.familyID
	res.creation.SourceUniqueID = src.uniqueID
	return nil
}

// sourceGone fails the unfinished copies whose source is the deleted gone.
// s.mu must be held.
func (s *Server) sourceGone(gone *resource) {
	for _, o := range s.res {
		if c := o.copy; c != nil && c.inProgress() && c.source == key(gone.id) {
			c.err = &wireCopyError{
				ErrorCode:    "CopySourceNotFound",
				ErrorMessage: fmt.Sprintf("The source snapshot '%s' was deleted before the copy completed.", gone.id),
			}
			o.data = nil
		}
	}
}

// BytesCopied returns the bytes all finished CopyStart copies have moved.
func (s *Server) BytesCopied() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytesCopied
}

// CopyBytes returns the bytes the CopyStart copy with ID id moves (known as
// soon as it is created: the 1 MiB blocks that differ from the previous
// finished copy of the same family in its region) and the ID of that
// previous copy ("" if there was none). ok is false if id is not a copy.
func (s *Server) CopyBytes(id string) (bytes int64, baseline string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.res[key(id)]
	if !found || r.copy == nil {
		return 0, "", false
	}
	return r.copy.bytes, r.copy.baseline, true
}
