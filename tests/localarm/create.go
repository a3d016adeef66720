package localarm

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// Create options this server models (DiskCreateOption).
const (
	createEmpty     = "Empty"
	createCopy      = "Copy"
	createCopyStart = "CopyStart"
	createImport    = "Import"
)

// allowedOptions are the create options of each kind. Snapshots cannot be
// Empty; disks cannot be CopyStart (it copies snapshots across regions).
var allowedOptions = map[kind][]string{
	kindSnapshot: {createCopy, createCopyStart, createImport},
	kindDisk:     {createEmpty, createCopy, createImport},
}

// spec is a validated PUT body.
type spec struct {
	location    string
	tags        map[string]string
	sku         *wireSKU
	zones       []string
	maxShares   *int32
	sizeGB      int32 // 0: not given
	incremental bool
	cd          wireCreationData // createOption in its canonical casing
}

// maxDiskSizeGB is the largest managed disk, 32 TiB.
const maxDiskSizeGB = 32767

// parseSpec decodes and checks a PUT body on its own, without looking at
// other resources.
func (s *Server) parseSpec(k kind, r *http.Request) (spec, *apiError) {
	var req wireResource
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return spec{}, errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid and could not be deserialized: %v", err)
	}
	sp := spec{location: normRegion(req.Location), tags: req.Tags, sku: skuOf(req.SKU), zones: req.Zones, maxShares: req.Properties.MaxShares}
	switch {
	case sp.location == "":
		return spec{}, errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	case !s.regions[sp.location]:
		return spec{}, errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
			req.Location, k.armType(), strings.Join(s.regionList(), ","))
	case req.Properties.CreationData == nil:
		return spec{}, invalidParameter("Required parameter 'creationData' is missing (null).")
	}
	if req.Properties.Incremental != nil {
		sp.incremental = *req.Properties.Incremental
	}
	if req.Properties.DiskSizeGB != nil {
		sp.sizeGB = *req.Properties.DiskSizeGB
		if sp.sizeGB <= 0 || sp.sizeGB > maxDiskSizeGB {
			return spec{}, invalidParameter("diskSizeGB %d is out of range: 1 to %d.", sp.sizeGB, maxDiskSizeGB)
		}
	}
	sp.cd = *req.Properties.CreationData
	sp.cd.SourceUniqueID = "" // read-only
	opt := ""
	for _, o := range allowedOptions[k] {
		if strings.EqualFold(o, sp.cd.CreateOption) {
			opt = o
		}
	}
	if opt == "" {
		return spec{}, invalidParameter("createOption '%s' is not supported for %s here; use one of %s.",
			sp.cd.CreateOption, k, strings.Join(allowedOptions[k], ", "))
	}
	sp.cd.CreateOption = opt
	switch opt {
	case createEmpty:
		if sp.sizeGB == 0 {
			return spec{}, invalidParameter("Required parameter 'diskSizeGB' is missing (null): an Empty disk needs a size.")
		}
	case createCopy, createCopyStart:
		if sp.cd.SourceResourceID == "" {
			return spec{}, invalidParameter("Required parameter 'creationData.sourceResourceId' is missing (null).")
		}
	case createImport:
		if sp.cd.SourceURI == "" || sp.cd.StorageAccountID == "" {
			return spec{}, invalidParameter("Import needs both 'creationData.sourceUri' and 'creationData.storageAccountId'.")
		}
	}
	return sp, nil
}

// regionList is the known regions, sorted.
func (s *Server) regionList() []string {
	var l []string
	for r := range s.regions {
		l = append(l, r)
	}
	sort.Strings(l)
	return l
}

func (s *Server) servePut(w http.ResponseWriter, r *http.Request, rt route) {
	g, err := s.lookupGroup(rt.sub, rt.rg)
	if err == nil {
		err = checkName(rt.kind, rt.name)
	}
	var sp spec
	if err == nil {
		sp, err = s.parseSpec(rt.kind, r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	id := resourceID(g.sub, g.name, rt.kind, rt.name)
	if s.putExisting(w, r, id, sp) {
		return
	}
	var imported *importedData
	if sp.cd.CreateOption == createImport {
		// Read the blob without holding the lock: it may be large.
		if imported, err = s.readImport(r.Context(), sp); err != nil {
			writeError(w, err)
			return
		}
	}
	if s.putExisting(w, r, id, sp) { // created meanwhile
		return
	}
	s.mu.Lock()
	res, err := s.build(g, rt, id, sp, imported)
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	s.res[key(id)] = res
	res.pending = s.newOperation(g.sub, res.location, opPut, res)
	body := s.render(res)
	s.mu.Unlock()
	s.accept(w, r, res.pending, body)
}

// putExisting answers a PUT of a resource that exists, reporting whether it
// did: the same creationData updates the tags, anything else is refused.
func (s *Server) putExisting(w http.ResponseWriter, r *http.Request, id string, sp spec) bool {
	s.mu.Lock()
	res, ok := s.res[key(id)]
	if !ok {
		s.mu.Unlock()
		return false
	}
	var err *apiError
	switch old := res.creation; {
	case res.location != sp.location:
		err = errorf(http.StatusConflict, "InvalidResourceLocation",
			"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'.",
			res.name, res.location, res.group.name, sp.location)
	case old.CreateOption != sp.cd.CreateOption || key(old.SourceResourceID) != key(sp.cd.SourceResourceID) ||
		old.SourceURI != sp.cd.SourceURI || key(old.StorageAccountID) != key(sp.cd.StorageAccountID) ||
		(res.kind == kindSnapshot && res.incremental != sp.incremental):
		err = errorf(http.StatusConflict, "PropertyChangeNotAllowed",
			"Changing property 'creationData' (or 'incremental') of %s '%s' is not allowed.", res.kind.singular(), res.id)
	}
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return true
	}
	res.tags = sp.tags
	// The new operation finishes nothing: a running first PUT still
	// decides when the resource is Succeeded.
	op := s.newOperation(res.group.sub, res.location, opPut, res)
	body := s.render(res)
	s.mu.Unlock()
	s.accept(w, r, op, body)
	return true
}

// build makes the resource a validated PUT creates. s.mu must be held.
func (s *Server) build(g *group, rt route, id string, sp spec, imported *importedData) (*resource, *apiError) {
	s.seq++
	res := &resource{
		kind: rt.kind, id: id, group: g, name: rt.name, location: sp.location,
		tags: sp.tags, sku: sp.sku, zones: sp.zones, created: s.clock.Now(), seq: s.seq,
		uniqueID: newUUID(), state: stateUpdating, creation: sp.cd,
	}
	if rt.kind == kindDisk {
		res.maxShares = sp.maxShares
		res.familyID = newUUID()
	} else {
		res.incremental = sp.incremental
		if sp.incremental {
			res.familyID = newUUID()
		}
	}
	switch sp.cd.CreateOption {
	case createEmpty:
		res.size, res.data = int64(sp.sizeGB)*GiB, blocks{}
	case createImport:
		res.size, res.data = imported.size, imported.data
	case createCopyStart:
		if err := s.startCopy(res, sp); err != nil {
			return nil, err
		}
	case createCopy:
		src, ok := s.res[key(sp.cd.SourceResourceID)]
		switch {
		case !ok:
			return nil, sourceNotFound(sp.cd.SourceResourceID)
		case src.location != res.location:
			// Assumption: Copy stays within a region (CopyStart crosses).
			return nil, invalidParameter("The source %s '%s' is in '%s'; Copy creates in the same region only, not '%s'.",
				src.kind.singular(), src.id, src.location, res.location)
		}
		if err := src.usable(); err != nil {
			return nil, err
		}
		res.size, res.data = src.size, src.data.clone()
		res.creation.SourceUniqueID = src.uniqueID
		if rt.kind == kindSnapshot && sp.incremental && src.familyID != "" {
			res.familyID = src.familyID // a disk's snapshots, and copies of them, share its family
		}
		if rt.kind == kindDisk && sp.sizeGB != 0 {
			if int64(sp.sizeGB)*GiB < src.size {
				return nil, invalidParameter("diskSizeGB %d is smaller than the source's %d bytes; a disk can only grow.", sp.sizeGB, src.size)
			}
			res.size = int64(sp.sizeGB) * GiB
		}
	}
	return res, nil
}
