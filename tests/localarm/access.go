package localarm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// AccessContainer is the container of each region's storage account that
// beginGetAccess uploads VHDs to.
const AccessContainer = "localarm-access"

// grant is an open beginGetAccess: the blob that serves the data.
type grant struct {
	account StorageAccount
	blob    string    // name in AccessContainer
	sas     string    // the read SAS URL; "" while uploading
	expiry  time.Time // of the SAS
}

// wireGrantAccess is GrantAccessData.
type wireGrantAccess struct {
	Access            string `json:"access"`
	DurationInSeconds *int32 `json:"durationInSeconds"`
	FileFormat        string `json:"fileFormat,omitempty"`
}

func (s *Server) serveGrant(w http.ResponseWriter, r *http.Request, rt route) {
	var req wireGrantAccess
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid and could not be deserialized: %v", err))
		return
	}
	switch {
	case !strings.EqualFold(req.Access, "Read"):
		writeError(w, invalidParameter("access '%s' is not supported here; only Read is modelled.", req.Access))
		return
	case req.DurationInSeconds == nil || *req.DurationInSeconds <= 0:
		writeError(w, invalidParameter("Required parameter 'durationInSeconds' must be a positive number of seconds."))
		return
	case req.FileFormat != "" && !strings.EqualFold(req.FileFormat, "VHD"):
		writeError(w, invalidParameter("fileFormat '%s' is not supported here; only VHD is modelled.", req.FileFormat))
		return
	}
	s.mu.Lock()
	res, err := s.lookup(rt)
	if err == nil {
		err = res.usable()
	}
	if err == nil && res.grant != nil && res.grant.sas == "" {
		err = notAllowed("Access to %s '%s' is being granted already.", res.kind.singular(), res.id)
	}
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	op := s.newOperation(res.group.sub, res.location, opGrant, res)
	if res.grant != nil { // assumption: a second grant returns the open SAS
		op.sas = res.grant.sas
		s.mu.Unlock()
		s.accept(w, r, op, nil)
		return
	}
	acct, ok := s.account(res.location)
	if !ok {
		op.fail = errorf(http.StatusInternalServerError, "InternalExecutionError",
			"No storage account is configured for region '%s' (Options.StorageAccounts).", res.location)
		s.mu.Unlock()
		s.accept(w, r, op, nil)
		return
	}
	g := &grant{account: acct, blob: strings.ToLower(res.name) + "-" + res.uniqueID + ".vhd",
		expiry: s.clock.Now().Add(time.Duration(*req.DurationInSeconds) * time.Second)}
	res.grant = g // deleting res is refused from here on
	pb := vhdBlob(res.data.clone(), res.size, res.uniqueID)
	s.mu.Unlock()

	sas, perr := s.blobs.PutPageBlob(r.Context(), acct, AccessContainer, g.blob, pb, g.expiry)

	s.mu.Lock()
	if perr != nil {
		res.grant = nil
		op.fail = errorf(http.StatusInternalServerError, "InternalExecutionError", "Uploading the VHD failed: %v", perr)
	} else {
		g.sas, op.sas = sas, sas
	}
	s.mu.Unlock()
	s.accept(w, r, op, nil)
}

func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	res, err := s.lookup(rt)
	if err == nil && res.grant != nil && res.grant.sas == "" {
		err = notAllowed("Access to %s '%s' is being granted; revoke it once granted.", res.kind.singular(), res.id)
	}
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	g := res.grant
	res.grant = nil
	op := s.newOperation(res.group.sub, res.location, opRevoke, res)
	s.mu.Unlock()
	if g != nil {
		if derr := s.blobs.DeleteBlob(r.Context(), g.account, AccessContainer, g.blob); derr != nil {
			s.mu.Lock()
			op.fail = errorf(http.StatusInternalServerError, "InternalExecutionError", "Deleting the VHD failed: %v", derr)
			s.mu.Unlock()
		}
	}
	s.accept(w, r, op, nil)
}

// ActiveSAS returns how many disks and snapshots have access granted.
func (s *Server) ActiveSAS() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.res {
		if r.grant != nil && r.grant.sas != "" {
			n++
		}
	}
	return n
}

// account returns the storage account of a region.
func (s *Server) account(region string) (StorageAccount, bool) {
	for r, a := range s.opt.StorageAccounts {
		if normRegion(r) == region {
			return a, true
		}
	}
	return StorageAccount{}, false
}

// importedData is what Import read from a blob.
type importedData struct {
	data blocks
	size int64
}

// readImport reads the fixed VHD an Import names, through the storage
// account its storageAccountId names, which must be in the target's
// region (an assumption: see the package doc).
func (s *Server) readImport(ctx context.Context, sp spec) (*importedData, *apiError) {
	said := strings.Split(strings.Trim(sp.cd.StorageAccountID, "/"), "/")
	if len(said) != 8 || !strings.EqualFold(said[5], "Microsoft.Storage") || !strings.EqualFold(said[6], "storageAccounts") {
		return nil, invalidParameter("storageAccountId '%s' is not a Microsoft.Storage/storageAccounts resource ID.", sp.cd.StorageAccountID)
	}
	name := said[7]
	var acct StorageAccount
	region := ""
	for r, a := range s.opt.StorageAccounts {
		if strings.EqualFold(a.Name, name) {
			acct, region = a, normRegion(r)
		}
	}
	switch {
	case region == "":
		return nil, errorf(http.StatusNotFound, "ResourceNotFound", "The storage account '%s' was not found.", sp.cd.StorageAccountID)
	case region != sp.location:
		return nil, invalidParameter("The storage account '%s' is in '%s'; Import into '%s' needs an account in the same region.", name, region, sp.location)
	case !strings.HasPrefix(strings.ToLower(sp.cd.SourceURI), strings.ToLower(strings.TrimRight(acct.Endpoint, "/"))+"/"):
		return nil, invalidParameter("sourceUri '%s' is not a blob of storage account '%s' (%s).", sp.cd.SourceURI, name, acct.Endpoint)
	}
	pb, err := s.blobs.ReadPageBlob(ctx, acct, sp.cd.SourceURI)
	if errors.Is(err, ErrBlobNotFound) {
		return nil, invalidParameter("The source blob '%s' was not found.", sp.cd.SourceURI)
	} else if err != nil {
		return nil, errorf(http.StatusInternalServerError, "InternalExecutionError", "Reading the source blob failed: %v", err)
	}
	data, size, err := fromVHD(pb)
	if err != nil {
		return nil, invalidParameter("The source blob '%s' is not a fixed VHD: %v.", sp.cd.SourceURI, err)
	}
	return &importedData{data: data, size: size}, nil
}
