package localarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// APIVersion is the Microsoft.Compute api-version served, the one armcompute
// v6 sends for disks and snapshots.
const APIVersion = "2024-03-02"

// Options configure a Server.
type Options struct {
	// ResourceGroups are the resource groups that exist. A resource may be
	// in any known region, whatever its group's.
	ResourceGroups []ResourceGroup

	// Regions are further regions resources may be created in, beside those
	// of ResourceGroups and StorageAccounts, e.g. "westus".
	Regions []string

	// StorageAccounts are the storage accounts by region. beginGetAccess
	// uploads to the account of the resource's region; Import reads from the
	// account its storageAccountId names (by the ID's last segment).
	StorageAccounts map[string]StorageAccount

	// Blobs stores the page blobs; nil means Azurite (AzuriteBlobs).
	Blobs BlobStore

	// CopyStep is how many percent a CopyStart copy advances on each GET;
	// 0 means 25.
	CopyStep float32

	// RequireToken, if set, is a bearer token every ARM request must carry
	// (or one the token endpoint issued).
	RequireToken string

	// Clients are the service principals the token endpoint issues tokens
	// to. With any set, ARM requests need a token, as with RequireToken.
	Clients []ClientSecret

	// Clock tells the time for timeCreated, operation times and SAS
	// expiry; nil means the real clock. Azurite checks a SAS's expiry
	// against the real time.
	Clock clock.PassiveClock
}

// ResourceGroup is a resource group that exists.
type ResourceGroup struct {
	// ID is /subscriptions/{subscription}/resourceGroups/{name}.
	ID string
	// Location is the group's region, e.g. "eastus".
	Location string
}

// StorageAccount is a storage account that holds page blobs.
type StorageAccount struct {
	// Name is the account name, e.g. "eastus" on the local cluster's
	// Azurite.
	Name string
	// Key is its shared key (base64).
	Key string
	// Endpoint is its blob service URL, path-style for Azurite:
	// http://127.0.0.1:PORT/<account>.
	Endpoint string
}

// Server is a local Azure Resource Manager; see the package doc. Its
// methods are safe for concurrent use.
type Server struct {
	opt     Options
	clock   clock.PassiveClock
	blobs   BlobStore
	step    float32
	groups  map[string]*group // by key(ID)
	subs    map[string]bool   // by lower-cased subscription ID
	regions map[string]bool

	mu          sync.Mutex
	res         map[string]*resource // by key(ID)
	ops         map[string]*operation
	seq         int64 // creation counter, orders snapshots
	throttle    int   // requests still to answer 429
	throttled   int
	bytesCopied int64
	issued      map[string]bool // tokens the token endpoint issued

	httpSrv *http.Server
}

// group is a resource group that exists.
type group struct {
	id, sub, name, location string
}

// New returns a Server for opt. It panics if a resource group ID is
// malformed, as regexp.MustCompile does for a bad expression.
func New(opt Options) *Server {
	s := &Server{
		opt: opt, clock: opt.Clock, blobs: opt.Blobs, step: opt.CopyStep,
		groups: map[string]*group{}, subs: map[string]bool{}, regions: map[string]bool{},
		res: map[string]*resource{}, ops: map[string]*operation{}, issued: map[string]bool{},
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	if s.blobs == nil {
		s.blobs = &AzuriteBlobs{}
	}
	if s.step <= 0 {
		s.step = 25
	}
	for _, g := range opt.ResourceGroups {
		sub, name, err := parseResourceGroupID(g.ID)
		if err != nil {
			panic("localarm: " + err.Error())
		}
		id := resourceGroupID(sub, name)
		s.groups[key(id)] = &group{id: id, sub: sub, name: name, location: normRegion(g.Location)}
		s.subs[key(sub)] = true
		s.regions[normRegion(g.Location)] = true
	}
	for _, r := range opt.Regions {
		s.regions[normRegion(r)] = true
	}
	for r := range opt.StorageAccounts {
		s.regions[normRegion(r)] = true
	}
	return s
}

// Handler returns the HTTP handler of s, for httptest.NewServer (or
// NewTLSServer, which azidentity's token requests need), DataPath included.
func (s *Server) Handler() http.Handler {
	return s.withControl(s.withData(http.HandlerFunc(s.serveHTTP)))
}

// Start serves s on addr (e.g. "127.0.0.1:0") over plain HTTP and returns
// its URL, the endpoint for cloud.ResourceManager.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.httpSrv != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return "", errors.New("server already started")
	}
	s.httpSrv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener Start opened, if any.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rt, aerr := parseRoute(r.Method, r.URL.Path)
	if aerr == nil && (rt.op == opTokenConf || rt.op == opTokenIssue) {
		s.serveToken(w, r, rt)
		return
	}
	w.Header().Set("x-ms-request-id", newUUID())
	if err := s.authorize(w, r); err != nil {
		writeError(w, err)
		return
	}
	if s.takeThrottle() {
		w.Header().Set("Retry-After", "1")
		writeError(w, errorf(http.StatusTooManyRequests, "TooManyRequests",
			"The request is being throttled. Retry after 1 second."))
		return
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if aerr := checkAPIVersion(r, rt); aerr != nil {
		writeError(w, aerr)
		return
	}
	switch {
	case rt.op == opOperation:
		s.serveOperation(w, r, rt)
	case rt.op == opList || rt.op == opListSub:
		s.serveList(w, rt)
	case rt.op == opResource && r.Method == http.MethodGet:
		s.serveGet(w, rt)
	case rt.op == opResource && r.Method == http.MethodPut:
		s.servePut(w, r, rt)
	case rt.op == opResource && r.Method == http.MethodDelete:
		s.serveDelete(w, r, rt)
	case rt.op == opGrant:
		s.serveGrant(w, r, rt)
	case rt.op == opRevoke:
		s.serveRevoke(w, r, rt)
	}
}

func checkAPIVersion(r *http.Request, rt route) *apiError {
	switch v := r.URL.Query().Get("api-version"); v {
	case APIVersion:
		return nil
	case "":
		return errorf(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	default:
		typ := string(rt.kind)
		if typ == "" {
			typ = "locations/DiskOperations"
		}
		return errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for API version '%s' and type '%s'. The supported api-versions are '%s'.",
			v, typ, APIVersion)
	}
}

// Throttle makes the next n ARM requests answer 429 TooManyRequests with
// Retry-After: 1 (azcore's retry policy waits that long and retries).
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Throttled returns how many requests s has answered 429.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

func (s *Server) takeThrottle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle <= 0 {
		return false
	}
	s.throttle--
	s.throttled++
	return true
}

// lookupGroup returns the group a route addresses: 404
// SubscriptionNotFound or ResourceGroupNotFound if it does not exist.
// s.mu need not be held: groups never change.
func (s *Server) lookupGroup(sub, rg string) (*group, *apiError) {
	if !s.subs[key(sub)] {
		return nil, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub)
	}
	g, ok := s.groups[key(resourceGroupID(sub, rg))]
	if !ok {
		return nil, errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
	}
	return g, nil
}

// lookup returns the resource rt addresses. s.mu must be held.
func (s *Server) lookup(rt route) (*resource, *apiError) {
	g, err := s.lookupGroup(rt.sub, rt.rg)
	if err != nil {
		return nil, err
	}
	r, ok := s.res[key(resourceID(g.sub, g.name, rt.kind, rt.name))]
	if !ok {
		return nil, resourceNotFound(rt.kind, g.name, rt.name)
	}
	return r, nil
}

func (s *Server) serveList(w http.ResponseWriter, rt route) {
	var g *group
	if rt.op == opList {
		var err *apiError
		if g, err = s.lookupGroup(rt.sub, rt.rg); err != nil {
			writeError(w, err)
			return
		}
	} else if !s.subs[key(rt.sub)] {
		writeError(w, errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", rt.sub))
		return
	}
	s.mu.Lock()
	var list []*resource
	for _, r := range s.res {
		if r.kind == rt.kind && key(r.group.sub) == key(rt.sub) && (g == nil || r.group == g) {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i].id) < key(list[j].id) })
	out := struct {
		Value []wireResource `json:"value"`
	}{Value: []wireResource{}}
	for _, r := range list {
		out.Value = append(out.Value, s.render(r))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveGet(w http.ResponseWriter, rt route) {
	s.mu.Lock()
	r, err := s.lookup(rt)
	if err != nil {
		s.mu.Unlock()
		writeError(w, err)
		return
	}
	s.observe(r)
	body := s.render(r)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// WriteDisk writes p at offset off of the disk with ID id, as a VM would.
func (s *Server) WriteDisk(id string, off int64, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.res[key(id)]
	switch {
	case !ok:
		return fmt.Errorf("no resource %s", id)
	case r.kind != kindDisk:
		return fmt.Errorf("%s is not a disk", id)
	case off < 0 || off+int64(len(p)) > r.size:
		return fmt.Errorf("write of %d bytes at %d is outside the %d-byte disk", len(p), off, r.size)
	}
	r.data.write(off, p)
	return nil
}

// ReadData returns n bytes at offset off of the disk or snapshot with ID
// id; a CopyStart copy must have finished.
func (s *Server) ReadData(id string, off int64, n int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.res[key(id)]
	switch {
	case !ok:
		return nil, fmt.Errorf("no resource %s", id)
	case off < 0 || n < 0 || off+int64(n) > r.size:
		return nil, fmt.Errorf("read of %d bytes at %d is outside the %d-byte %s", n, off, r.size, r.kind.singular())
	}
	if err := r.usable(); err != nil {
		return nil, err
	}
	return r.data.read(off, n), nil
}
