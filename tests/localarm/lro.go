package localarm

import (
	"net/http"
	"net/url"
	"time"
)

// An operation is a long-running operation: it is InProgress for
// inProgressPolls polls, then Succeeded, or Failed if fail is set.
type operation struct {
	id     string
	sub    string
	region string
	kind   string    // one of the op* kinds below
	target *resource // the resource it acts on
	start  time.Time
	end    time.Time
	polls  int // InProgress answers left
	status string
	fail   *apiError
	sas    string // opGrant's output
}

// Operation kinds.
const (
	opPut    = "put"
	opDelete = "delete"
	// opGrant and opRevoke reuse the route names.
)

// Operation statuses (azcore's poller knows these).
const (
	statusInProgress = "InProgress"
	statusSucceeded  = "Succeeded"
	statusFailed     = "Failed"
)

// inProgressPolls is how often an operation answers InProgress before it
// ends: once, so a client sees both states without waiting.
const inProgressPolls = 1

// newOperation registers an operation. s.mu must be held.
func (s *Server) newOperation(sub, region, kind string, target *resource) *operation {
	op := &operation{
		id: newUUID(), sub: sub, region: region, kind: kind, target: target,
		start: s.clock.Now(), polls: inProgressPolls, status: statusInProgress,
	}
	s.ops[op.id] = op
	return op
}

// advance counts a poll of op, ending it when its InProgress answers are
// used up. Ending a PUT makes its resource Succeeded. s.mu must be held.
func (s *Server) advance(op *operation) {
	if op.status != statusInProgress {
		return
	}
	if op.polls > 0 {
		op.polls--
		return
	}
	op.end = s.clock.Now()
	if op.fail != nil {
		op.status = statusFailed
	} else {
		op.status = statusSucceeded
	}
	if op.kind == opPut && op.target.pending == op {
		op.target.pending = nil
		if op.status == statusSucceeded {
			op.target.state = stateSucceeded
		}
	}
}

// accept answers 202 Accepted for op, with the absolute polling URLs
// azcore's poller needs: Azure-AsyncOperation (the status) and Location
// (the result). body, if not nil, is the resource as it stands.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, op *operation, body any) {
	u := operationURL(r, op)
	w.Header().Set("Azure-AsyncOperation", u)
	w.Header().Set("Location", u+"&monitor=true")
	if body == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	writeJSON(w, http.StatusAccepted, body)
}

// operationURL is where op is polled, on the host the request came to.
func operationURL(r *http.Request, op *operation) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/subscriptions/" + url.PathEscape(op.sub) +
		"/providers/Microsoft.Compute/locations/" + op.region + "/DiskOperations/" + op.id +
		"?api-version=" + APIVersion
}

// wireStatus is the Azure-AsyncOperation body.
type wireStatus struct {
	Name       string      `json:"name"`
	Status     string      `json:"status"`
	StartTime  string      `json:"startTime"`
	EndTime    string      `json:"endTime,omitempty"`
	Properties *wireOutput `json:"properties,omitempty"`
	Error      *errorBody  `json:"error,omitempty"`
}

type wireOutput struct {
	Output wireAccess `json:"output"`
}

// wireAccess is beginGetAccess's result (AccessUri).
type wireAccess struct {
	AccessSAS string `json:"accessSAS"`
}

func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	op, ok := s.ops[rt.opID]
	if !ok || key(op.sub) != key(rt.sub) {
		s.mu.Unlock()
		writeError(w, errorf(http.StatusNotFound, "ResourceNotFound", "The operation '%s' was not found.", rt.opID))
		return
	}
	s.advance(op)
	if r.URL.Query().Get("monitor") != "true" {
		st := wireStatus{Name: op.id, Status: op.status, StartTime: op.start.UTC().Format(time.RFC3339Nano)}
		if op.status != statusInProgress {
			st.EndTime = op.end.UTC().Format(time.RFC3339Nano)
		}
		if op.status == statusFailed {
			b := op.fail.body()
			st.Error = &b
		}
		if op.kind == opGrant && op.status == statusSucceeded {
			st.Properties = &wireOutput{Output: wireAccess{AccessSAS: op.sas}}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
		return
	}
	// The Location URL: 202 while running, then the operation's result.
	switch {
	case op.status == statusInProgress:
		s.mu.Unlock()
		w.Header().Set("Location", operationURL(r, op)+"&monitor=true")
		w.WriteHeader(http.StatusAccepted)
	case op.status == statusFailed:
		s.mu.Unlock()
		writeError(w, op.fail)
	case op.kind == opGrant:
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, wireAccess{AccessSAS: op.sas})
	case op.kind == opPut && s.res[key(op.target.id)] == op.target:
		body := s.render(op.target)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	case op.kind == opPut:
		s.mu.Unlock()
		writeError(w, resourceNotFound(op.target.kind, op.target.group.name, op.target.name))
	case op.kind == opRevoke:
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default: // opDelete
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}
