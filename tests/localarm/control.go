package localarm

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ControlPath is the test-control endpoint, this package's own (see the
// package doc): an e2e test in another process reads what a copy moved
// (GET ?copy=<ARM ID>: {"bytes": n}), throttles the next requests (POST
// ?throttle=<n>) and reads the counters (GET ?stats: {"throttled": n,
// "activeSAS": n}), as the in-process CopyBytes, Throttle, Throttled and
// ActiveSAS do.
const ControlPath = "/localarm/v1/control"

// withControl serves ControlPath itself and passes every other request on.
func (s *Server) withControl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(strings.TrimRight(r.URL.Path, "/"), ControlPath) {
			next.ServeHTTP(w, r)
			return
		}
		s.serveControl(w, r)
	})
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", newUUID())
	if err := s.authorize(w, r); err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && q.Get("copy") != "":
		n, _, ok := s.CopyBytes(q.Get("copy"))
		if !ok {
			writeError(w, errorf(http.StatusNotFound, "ResourceNotFound", "Copy '%s' is unknown or not finished.", q.Get("copy")))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"bytes": n})
	case r.Method == http.MethodGet && q.Has("stats"):
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"throttled": s.Throttled(), "activeSAS": s.ActiveSAS()})
	case r.Method == http.MethodPost && q.Get("throttle") != "":
		n, err := intParam(q, "throttle")
		if err != nil {
			writeError(w, err)
			return
		}
		s.Throttle(int(n))
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, invalidParameter("Use GET %s?copy=<id>, GET %s?stats or POST %s?throttle=<n>.", ControlPath, ControlPath, ControlPath))
	}
}
