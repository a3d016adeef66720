package localarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DataPath is the data endpoint: WriteDisk and ReadData over HTTP, for a
// test CSI driver in another process. It is this package's own, not Azure's
// (see the package doc).
const DataPath = "/localarm/v1/data"

// withData serves DataPath itself and passes every other request to arm.
func (s *Server) withData(arm http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(strings.TrimRight(r.URL.Path, "/"), DataPath) {
			arm.ServeHTTP(w, r)
			return
		}
		s.serveData(w, r)
	})
}

// serveData checks the token as for ARM, then writes or reads. Throttle
// does not apply: it counts ARM requests.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", newUUID())
	if err := s.authorize(w, r); err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	off, err := intParam(q, "offset")
	if err != nil {
		writeError(w, err)
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.putData(w, r, q.Get("id"), off)
	case http.MethodGet:
		n, err := intParam(q, "length")
		if err != nil {
			writeError(w, err)
			return
		}
		s.getData(w, q.Get("id"), off, n)
	default:
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested method '%s' is not allowed on '%s'; use PUT or GET.", r.Method, DataPath))
	}
}

func intParam(q url.Values, name string) (int64, *apiError) {
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil || n < 0 {
		return 0, invalidParameter("Query parameter '%s' must be a non-negative integer, not '%s'.", name, q.Get(name))
	}
	return n, nil
}

// dataResource returns the resource with ID id. s.mu must be held.
func (s *Server) dataResource(id string) (*resource, *apiError) {
	_, rg, k, name, ok := parseResourceID(id)
	if !ok {
		return nil, invalidParameter("Query parameter 'id' must be the ID of a disk or snapshot, not '%s'.", id)
	}
	r, found := s.res[key(id)]
	if !found {
		return nil, resourceNotFound(k, rg, name)
	}
	return r, nil
}

// checkRange refuses n bytes at off outside r.
func checkRange(r *resource, off, n int64) *apiError {
	if off+n > r.size || off+n < off {
		return invalidParameter("%d bytes at offset %d are outside the %d-byte %s '%s'.", n, off, r.size, r.kind.singular(), r.id)
	}
	return nil
}

// writableDisk returns disk id if n bytes at off are inside it. s.mu must
// be held.
func (s *Server) writableDisk(id string, off, n int64) (*resource, *apiError) {
	r, err := s.dataResource(id)
	switch {
	case err != nil:
		return nil, err
	case r.kind != kindDisk:
		return nil, badRequest("'%s' is a %s; only disks are written.", r.id, r.kind.singular())
	case r.data == nil:
		return nil, notAllowed("The disk '%s' has no data.", r.id)
	}
	return r, checkRange(r, off, n)
}

// writeChunk writes p at off of disk id, as WriteDisk does.
func (s *Server) writeChunk(id string, off int64, p []byte) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.writableDisk(id, off, int64(len(p)))
	if err == nil {
		r.data.write(off, p)
	}
	return err
}

// putData writes the body block by block, so a large body is never held
// whole. A body without a length is checked as it comes: a refused block
// leaves the blocks before it written.
func (s *Server) putData(w http.ResponseWriter, r *http.Request, id string, off int64) {
	s.mu.Lock()
	_, err := s.writableDisk(id, off, max(0, r.ContentLength))
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	buf := make([]byte, BlockSize)
	for {
		n, rerr := io.ReadFull(r.Body, buf[:BlockSize-off%BlockSize])
		if n > 0 {
			if err := s.writeChunk(id, off, buf[:n]); err != nil {
				writeError(w, err)
				return
			}
		}
		off += int64(n)
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			writeError(w, badRequest("Reading the request body failed: %v", rerr))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// getData streams n bytes from off of a consistent view: the data as it
// was when the request came, however the disk changes meanwhile.
func (s *Server) getData(w http.ResponseWriter, id string, off, n int64) {
	s.mu.Lock()
	r, err := s.dataResource(id)
	if err == nil {
		err = checkRange(r, off, n)
	}
	if err == nil {
		err = r.usable()
	}
	var view blocks
	if err == nil {
		view = r.data.clone()
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	for end := off + n; off < end; {
		in := off % BlockSize
		c := min(BlockSize-in, end-off)
		if _, err := w.Write(view.block(off / BlockSize)[in : in+c]); err != nil {
			return // the client went away, perhaps having read what it needed
		}
		off += c
	}
}

// DataClient reads and writes disk and snapshot data through a Server's
// data endpoint (DataPath), streaming.
type DataClient struct {
	// Base is the server's URL, the ARM endpoint.
	Base string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Token, if set, returns the bearer token to send, as for ARM.
	Token func(ctx context.Context) (string, error)
}

// DataError is the endpoint's refusal: the status and ARM's error code
// and message.
type DataError struct {
	StatusCode    int
	Code, Message string
}

func (e *DataError) Error() string {
	return fmt.Sprintf("localarm data: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Write writes n bytes from r at offset off of the disk with ID id.
func (c *DataClient) Write(ctx context.Context, id string, off int64, r io.Reader, n int64) error {
	body := io.Reader(http.NoBody)
	if n > 0 {
		body = io.LimitReader(r, n)
	}
	resp, err := c.do(ctx, http.MethodPut, url.Values{"id": {id}, "offset": {strconv.FormatInt(off, 10)}}, body, n)
	if err != nil {
		return fmt.Errorf("write %d bytes at %d of %s: %w", n, off, id, err)
	}
	_ = resp.Body.Close()
	return nil
}

// Read returns n bytes at offset off of the disk or snapshot with ID id.
// A body that ends early reads io.ErrUnexpectedEOF; the caller closes it,
// and may do so before the end.
func (c *DataClient) Read(ctx context.Context, id string, off, n int64) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, url.Values{
		"id": {id}, "offset": {strconv.FormatInt(off, 10)}, "length": {strconv.FormatInt(n, 10)},
	}, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("read %d bytes at %d of %s: %w", n, off, id, err)
	}
	return resp.Body, nil
}

// do sends a request and returns a 2xx response; any other is a DataError.
func (c *DataClient) do(ctx context.Context, method string, q url.Values, body io.Reader, n int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+DataPath+"?"+q.Encode(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = n
	if c.Token != nil {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("get token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var env envelope
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &env) != nil || env.Error.Code == "" {
		env.Error = errorBody{Code: resp.Status, Message: strings.TrimSpace(string(b))}
	}
	return nil, &DataError{StatusCode: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message}
}
