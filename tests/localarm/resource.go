package localarm

import (
	"net/http"
	"strings"
	"time"
)

// Provisioning states.
const (
	stateUpdating  = "Updating"
	stateSucceeded = "Succeeded"
)

// resource is a disk or a snapshot.
type resource struct {
	kind        kind
	id          string // canonical, with the casing of the creating PUT
	group       *group
	name        string
	location    string // normalized
	tags        map[string]string
	sku         *wireSKU
	zones       []string
	maxShares   *int32
	created     time.Time
	seq         int64 // creation order
	uniqueID    string
	incremental bool
	// familyID is a snapshot's incrementalSnapshotFamilyId, or for a disk
	// the family its incremental snapshots get.
	familyID string
	size     int64
	data     blocks // nil once a copy failed
	creation wireCreationData
	state    string     // provisioningState
	pending  *operation // the PUT's LRO while it runs
	copy     *copyJob   // CopyStart targets only
	grant    *grant     // while access is granted
}

// diskState is the resource's properties.diskState.
func (r *resource) diskState() string {
	if r.grant != nil && r.grant.sas != "" {
		return "ActiveSAS"
	}
	return "Unattached"
}

// usable reports whether r's data can be read: 409 OperationNotAllowed for
// a CopyStart copy that has not finished or has failed.
func (r *resource) usable() *apiError {
	c := r.copy
	switch {
	case c == nil || c.done():
		return nil
	case c.err != nil:
		return notAllowed("The copy of %s '%s' failed (%s), so its data cannot be used.", r.kind.singular(), r.id, c.err.ErrorCode)
	default:
		return notAllowed("The %s '%s' is still being copied (%.0f%% complete).", r.kind.singular(), r.id, c.percent)
	}
}

// Wire types: the JSON of the REST API (specification
// Microsoft.Compute/DiskRP/stable/2024-03-02), the fields this server uses.

type wireResource struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	SKU        *wireSKU          `json:"sku,omitempty"`
	Zones      []string          `json:"zones,omitempty"`
	Properties wireProperties    `json:"properties"`
}

type wireSKU struct {
	Name string `json:"name,omitempty"`
	Tier string `json:"tier,omitempty"`
}

type wireProperties struct {
	CreationData                *wireCreationData `json:"creationData,omitempty"`
	DiskSizeGB                  *int32            `json:"diskSizeGB,omitempty"`
	DiskSizeBytes               *int64            `json:"diskSizeBytes,omitempty"`
	UniqueID                    string            `json:"uniqueId,omitempty"`
	Incremental                 *bool             `json:"incremental,omitempty"`
	IncrementalSnapshotFamilyID string            `json:"incrementalSnapshotFamilyId,omitempty"`
	ProvisioningState           string            `json:"provisioningState,omitempty"`
	TimeCreated                 string            `json:"timeCreated,omitempty"`
	DiskState                   string            `json:"diskState,omitempty"`
	CompletionPercent           *float32          `json:"completionPercent,omitempty"`
	CopyCompletionError         *wireCopyError    `json:"copyCompletionError,omitempty"`
	MaxShares                   *int32            `json:"maxShares,omitempty"`
	Encryption                  *wireEncryption   `json:"encryption,omitempty"`
	NetworkAccessPolicy         string            `json:"networkAccessPolicy,omitempty"`
	PublicNetworkAccess         string            `json:"publicNetworkAccess,omitempty"`
}

type wireCreationData struct {
	CreateOption                  string `json:"createOption"`
	SourceResourceID              string `json:"sourceResourceId,omitempty"`
	SourceUniqueID                string `json:"sourceUniqueId,omitempty"`
	SourceURI                     string `json:"sourceUri,omitempty"`
	StorageAccountID              string `json:"storageAccountId,omitempty"`
	ProvisionedBandwidthCopySpeed string `json:"provisionedBandwidthCopySpeed,omitempty"`
}

type wireCopyError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

type wireEncryption struct {
	Type string `json:"type,omitempty"`
}

// render is r as a GET returns it. s.mu must be held.
func (s *Server) render(r *resource) wireResource {
	sizeGB := int32((r.size + GiB - 1) / GiB)
	size := r.size
	cd := r.creation
	p := wireProperties{
		CreationData:        &cd,
		DiskSizeGB:          &sizeGB,
		DiskSizeBytes:       &size,
		UniqueID:            r.uniqueID,
		ProvisioningState:   r.state,
		TimeCreated:         r.created.UTC().Format(time.RFC3339Nano),
		DiskState:           r.diskState(),
		Encryption:          &wireEncryption{Type: "EncryptionAtRestWithPlatformKey"},
		NetworkAccessPolicy: "AllowAll",
		PublicNetworkAccess: "Enabled",
	}
	switch r.kind {
	case kindSnapshot:
		inc := r.incremental
		p.Incremental = &inc
		if inc {
			p.IncrementalSnapshotFamilyID = r.familyID
		}
	case kindDisk:
		p.MaxShares = r.maxShares
	}
	if c := r.copy; c != nil {
		pct := c.percent
		p.CompletionPercent = &pct
		if c.err != nil {
			e := *c.err
			p.CopyCompletionError = &e
		}
	}
	return wireResource{
		ID: r.id, Name: r.name, Type: r.kind.armType(), Location: r.location,
		Tags: r.tags, SKU: r.sku, Zones: r.zones, Properties: p,
	}
}

// observe applies what a GET of r sees happen: its PUT's LRO counts the GET
// as a poll, and a running CopyStart copy advances. s.mu must be held.
func (s *Server) observe(r *resource) {
	if r.pending != nil {
		s.advance(r.pending)
	}
	if c := r.copy; c != nil && c.inProgress() && r.state == stateSucceeded {
		c.percent = min(100, c.percent+s.step)
		if c.done() {
			s.bytesCopied += c.bytes
		}
	}
}

// skuOf returns the SKU to record: the one asked for, with its tier, or
// Standard_LRS, Azure's default for disks and snapshots.
func skuOf(asked *wireSKU) *wireSKU {
	name := "Standard_LRS"
	if asked != nil && asked.Name != "" {
		name = asked.Name
	}
	tier := "Standard"
	switch prefix, _, _ := strings.Cut(name, "_"); prefix {
	case "Premium", "PremiumV2":
		tier = "Premium"
	case "UltraSSD":
		tier = "Ultra"
	}
	return &wireSKU{Name: name, Tier: tier}
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	res, err := s.lookup(rt)
	if err != nil {
		s.mu.Unlock()
		if err.code == "ResourceNotFound" {
			w.WriteHeader(http.StatusNoContent) // ARM: deleting what is not there succeeds
			return
		}
		writeError(w, err)
		return
	}
	if res.grant != nil {
		s.mu.Unlock()
		writeError(w, notAllowed("The %s '%s' has an active SAS; revoke access (endGetAccess) before deleting it.", res.kind.singular(), res.id))
		return
	}
	delete(s.res, key(res.id))
	s.sourceGone(res)
	op := s.newOperation(res.group.sub, res.location, opDelete, res)
	s.mu.Unlock()
	s.accept(w, r, op, nil)
}
