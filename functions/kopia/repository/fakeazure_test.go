package repository

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAzure is an in-memory Azure Blob service with path-style URLs
// (/<account>/<container>/<blob>), enough for azureblob: containers, Put,
// Get (with ranges), Get Properties, Delete and flat listing. It records
// each request's Authorization header and query so tests can check how
// requests were signed.
type fakeAzure struct {
	mu         sync.Mutex
	containers map[string]map[string]fakeBlob // "account/container" -> name -> blob
	auth       []string
	queries    []string
}

type fakeBlob struct {
	data []byte
	meta map[string]string
	mod  time.Time
}

func newFakeAzure(t *testing.T, containers ...string) (*fakeAzure, string) {
	t.Helper()

	f := &fakeAzure{containers: map[string]map[string]fakeBlob{}}
	for _, c := range containers {
		f.containers[c] = map[string]fakeBlob{}
	}

	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)

	return f, srv.URL
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.queries = append(f.queries, r.URL.RawQuery)

	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) < 2 {
		azureError(w, r, http.StatusBadRequest, "InvalidUri")
		return
	}

	key := parts[0] + "/" + parts[1]
	q := r.URL.Query()

	switch {
	case q.Get("restype") == "container" && r.Method == http.MethodPut:
		f.createContainer(w, key)
	case f.containers[key] == nil:
		azureError(w, r, http.StatusNotFound, "ContainerNotFound")
	case q.Get("comp") == "list":
		f.list(w, key, q.Get("prefix"))
	case len(parts) == 3:
		f.blob(w, r, f.containers[key], parts[2])
	default:
		azureError(w, r, http.StatusBadRequest, "UnsupportedQueryParameter")
	}
}

func (f *fakeAzure) createContainer(w http.ResponseWriter, key string) {
	if f.containers[key] != nil {
		w.Header().Set("x-ms-error-code", "ContainerAlreadyExists")
		w.WriteHeader(http.StatusConflict)

		return
	}

	f.containers[key] = map[string]fakeBlob{}
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeAzure) blob(w http.ResponseWriter, r *http.Request, c map[string]fakeBlob, name string) {
	b, ok := c[name]

	switch {
	case r.Method == http.MethodPut:
		if ok && r.Header.Get("If-None-Match") == "*" {
			azureError(w, r, http.StatusConflict, "BlobAlreadyExists")
			return
		}

		data, _ := io.ReadAll(r.Body)
		c[name] = fakeBlob{data: data, meta: metaHeaders(r.Header), mod: time.Now().UTC()}
		w.Header().Set("Last-Modified", c[name].mod.Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case !ok:
		azureError(w, r, http.StatusNotFound, "BlobNotFound")
	case r.Method == http.MethodDelete:
		delete(c, name)
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		serveBlob(w, r, b)
	default:
		azureError(w, r, http.StatusMethodNotAllowed, "UnsupportedHttpVerb")
	}
}

func serveBlob(w http.ResponseWriter, r *http.Request, b fakeBlob) {
	h := w.Header()
	h.Set("Last-Modified", b.mod.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")

	for k, v := range b.meta {
		h.Set("x-ms-meta-"+k, v)
	}

	data, status := b.data, http.StatusOK

	if rng := r.Header.Get("x-ms-range"); rng != "" && r.Method == http.MethodGet {
		start, end, ok := parseRange(rng, int64(len(b.data)))
		if !ok {
			azureError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
			return
		}

		data, status = b.data[start:end], http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(b.data)))
	}

	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)

	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

// parseRange parses "bytes=a-b" or "bytes=a-" into [start, end).
func parseRange(rng string, size int64) (start, end int64, ok bool) {
	from, to, _ := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")

	start, err := strconv.ParseInt(from, 10, 64)
	if err != nil || start >= size {
		return 0, 0, false
	}

	end = size
	if to != "" {
		last, err := strconv.ParseInt(to, 10, 64)
		if err != nil {
			return 0, 0, false
		}

		end = min(last+1, size)
	}

	return start, end, true
}

func (f *fakeAzure) list(w http.ResponseWriter, key, prefix string) {
	c := f.containers[key]

	names := make([]string, 0, len(c))
	for n := range c {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}

	sort.Strings(names)

	var sb strings.Builder

	sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>`)

	for _, n := range names {
		b := c[n]
		fmt.Fprintf(&sb, "<Blob><Name>%s</Name><Properties><Last-Modified>%s</Last-Modified><Content-Length>%d</Content-Length><BlobType>BlockBlob</BlobType></Properties><Metadata>",
			xmlText(n), b.mod.Format(http.TimeFormat), len(b.data))

		for k, v := range b.meta {
			fmt.Fprintf(&sb, "<%s>%s</%s>", k, xmlText(v), k)
		}

		sb.WriteString("</Metadata></Blob>")
	}

	sb.WriteString("</Blobs><NextMarker/></EnumerationResults>")
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, sb.String())
}

// blobNames returns the names of every blob in account/container.
func (f *fakeAzure) blobNames(key string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()

	var out []string
	for n := range f.containers[key] {
		out = append(out, n)
	}

	return out
}

func (f *fakeAzure) requests() (auth, queries []string) {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]string(nil), f.auth...), append([]string(nil), f.queries...)
}

func metaHeaders(h http.Header) map[string]string {
	out := map[string]string{}

	for k := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-ms-meta-"); ok {
			out[name] = h.Get(k)
		}
	}

	return out
}

func azureError(w http.ResponseWriter, r *http.Request, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)

	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>fake azure</Message></Error>`, code)
	}
}

func xmlText(s string) string {
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(s))

	return sb.String()
}
