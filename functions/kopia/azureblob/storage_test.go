package azureblob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"
	"github.com/kopia/kopia/repo/blob"
)

// fakeAzure is a policy.Transporter that answers requests with handle and
// records them, so the storage can be tested without a network.
type fakeAzure struct {
	handle func(r *http.Request) (*http.Response, error)

	mu   sync.Mutex
	reqs []*http.Request
}

func (f *fakeAzure) Do(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	return f.handle(r)
}

func (f *fakeAzure) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func respond(r *http.Request, status int, header map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}
}

func azError(r *http.Request, status int, code string) *http.Response {
	body := ""
	if r.Method != http.MethodHead {
		body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>nope</Message></Error>`
	}
	return respond(r, status, map[string]string{"x-ms-error-code": code, "Content-Type": "application/xml"}, body)
}

const emptyList = `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="backups"><Blobs /><NextMarker /></EnumerationResults>`

func isList(r *http.Request) bool { return r.URL.Query().Get("comp") == "list" }

// open returns a storage on the fake, which answers New's probe listing
// with an empty list and everything else with next.
func open(t *testing.T, opt Options, next func(r *http.Request) (*http.Response, error)) (*storage, *fakeAzure) {
	t.Helper()
	probed := false
	fake := &fakeAzure{handle: func(r *http.Request) (*http.Response, error) {
		if !probed && isList(r) {
			probed = true
			return respond(r, 200, map[string]string{"Content-Type": "application/xml"}, emptyList), nil
		}
		return next(r)
	}}
	s, err := newStorage(t.Context(), &opt, false, clientConfig{transport: fake, retry: &policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatalf("newStorage: %v", err)
	}
	return s, fake
}

var (
	keyOpts = Options{Endpoint: "http://127.0.0.1:10000/devstoreaccount1", AccountName: "devstoreaccount1", AccountKey: "c2VjcmV0LWtleQ==", Container: "backups", Prefix: "team-a/"}
	sasOpts = Options{Endpoint: "http://127.0.0.1:10000/westus", SASToken: "?" + sas, Container: "backups"}
)

// Requests go to path-style URLs under the container, the prefix ahead of
// the blob ID; a shared key signs them, a SAS rides in the query.
func TestRequestURLs(t *testing.T) {
	t.Run("shared key", func(t *testing.T) {
		s, fake := open(t, keyOpts, func(r *http.Request) (*http.Response, error) {
			return azError(r, 404, "BlobNotFound"), nil
		})
		_, _ = s.GetMetadata(t.Context(), "p0123")
		r := fake.last()
		if got, want := r.URL.Scheme+"://"+r.URL.Host+r.URL.EscapedPath(), "http://127.0.0.1:10000/devstoreaccount1/backups/team-a%2Fp0123"; got != want {
			t.Errorf("URL = %q, want %q", got, want)
		}
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "SharedKey devstoreaccount1:") {
			t.Errorf("Authorization = %q, want a SharedKey signature", got)
		}
		probe := fake.reqs[0]
		if got, want := probe.URL.Query().Get("prefix"), "team-a/"+probePrefix; got != want {
			t.Errorf("probe prefix = %q, want %q", got, want)
		}
	})
	t.Run("SAS", func(t *testing.T) {
		s, fake := open(t, sasOpts, func(r *http.Request) (*http.Response, error) {
			return azError(r, 404, "BlobNotFound"), nil
		})
		_, _ = s.GetMetadata(t.Context(), "p0123")
		r := fake.last()
		if got, want := r.URL.EscapedPath(), "/westus/backups/p0123"; got != want {
			t.Errorf("path = %q, want %q", got, want)
		}
		if got := r.URL.Query().Get("sig"); got != "c2VjcmV0LXNpZ25hdHVyZQ==" {
			t.Errorf("sig = %q, want the SAS signature", got)
		}
		if got := r.Header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none with a SAS", got)
		}
	})
}

func TestDisplayName(t *testing.T) {
	s, _ := open(t, keyOpts, nil)
	if got, want := s.DisplayName(), "Azure Blob: http://127.0.0.1:10000/devstoreaccount1/backups/team-a/"; got != want {
		t.Errorf("DisplayName() = %q, want %q", got, want)
	}
	s, _ = open(t, sasOpts, nil)
	if got, want := s.DisplayName(), "Azure Blob: http://127.0.0.1:10000/westus/backups"; got != want {
		t.Errorf("DisplayName() = %q, want %q", got, want)
	}
}

// Azure's answers map onto kopia's sentinel errors.
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name   string
		status int
		code   string
		call   func(s *storage) error
		want   error // nil: the call must succeed
	}{
		{
			name: "get missing blob", status: 404, code: "BlobNotFound", want: blob.ErrBlobNotFound,
			call: func(s *storage) error { return s.GetBlob(t.Context(), "x", 0, -1, &buffer{}) },
		},
		{
			name: "get range of missing blob", status: 404, code: "BlobNotFound", want: blob.ErrBlobNotFound,
			call: func(s *storage) error { return s.GetBlob(t.Context(), "x", 0, 5, &buffer{}) },
		},
		{
			name: "metadata of missing blob, code only in header", status: 404, code: "BlobNotFound", want: blob.ErrBlobNotFound,
			call: func(s *storage) error { _, err := s.GetMetadata(t.Context(), "x"); return err },
		},
		{
			name: "metadata of missing blob, no code", status: 404, code: "", want: blob.ErrBlobNotFound,
			call: func(s *storage) error { _, err := s.GetMetadata(t.Context(), "x"); return err },
		},
		{
			name: "range past the end", status: 416, code: "InvalidRange", want: blob.ErrInvalidRange,
			call: func(s *storage) error { return s.GetBlob(t.Context(), "x", 100, 3, &buffer{}) },
		},
		{
			name: "do not recreate, blob exists", status: 409, code: "BlobAlreadyExists", want: blob.ErrBlobAlreadyExists,
			call: func(s *storage) error {
				return s.PutBlob(t.Context(), "x", bytesOf("new"), blob.PutOptions{DoNotRecreate: true})
			},
		},
		{
			name: "do not recreate, precondition failed", status: 412, code: "ConditionNotMet", want: blob.ErrBlobAlreadyExists,
			call: func(s *storage) error {
				return s.PutBlob(t.Context(), "x", bytesOf("new"), blob.PutOptions{DoNotRecreate: true})
			},
		},
		{
			name: "delete missing blob", status: 404, code: "BlobNotFound", want: nil,
			call: func(s *storage) error { return s.DeleteBlob(t.Context(), "x") },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := open(t, keyOpts, func(r *http.Request) (*http.Response, error) {
				return azError(r, tc.status, tc.code), nil
			})
			err := tc.call(s)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), `"x" in container "backups"`) {
				t.Errorf("error %q does not name the blob and container", err)
			}
		})
	}
}

// A missing container is not a missing blob, and the message says which.
func TestMissingContainer(t *testing.T) {
	fake := &fakeAzure{handle: func(r *http.Request) (*http.Response, error) {
		return azError(r, 404, "ContainerNotFound"), nil
	}}
	opt := keyOpts
	_, err := newStorage(t.Context(), &opt, false, clientConfig{transport: fake, retry: &policy.RetryOptions{MaxRetries: -1}})
	want := `open container "backups" at http://127.0.0.1:10000/devstoreaccount1/backups: container does not exist (create it, or open with isCreate and a shared key): azure storage responded 404 Not Found (ContainerNotFound)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("a missing container reads as a missing blob")
	}
}

// Secrets never reach error text, even when the transport error quotes the
// request URL with the SAS.
func TestErrorsHideSecrets(t *testing.T) {
	failures := map[string]func(r *http.Request, opt Options) error{
		"url.Error": func(r *http.Request, _ Options) error {
			return &url.Error{Op: "Get", URL: r.URL.String(), Err: errors.New("dial tcp 127.0.0.1:10000: connect: connection refused")}
		},
		"text": func(r *http.Request, opt Options) error {
			return fmt.Errorf("connection refused; url was %s, key %s, SAS %s", r.URL.String(), opt.AccountKey, opt.SASToken)
		},
	}
	for auth, opt := range map[string]Options{"shared key": keyOpts, "SAS": sasOpts} {
		for name, failure := range failures {
			t.Run(auth+"/"+name, func(t *testing.T) {
				fake := &fakeAzure{handle: func(r *http.Request) (*http.Response, error) { return nil, failure(r, opt) }}
				_, err := newStorage(t.Context(), &opt, false, clientConfig{transport: fake, retry: &policy.RetryOptions{MaxRetries: -1}})
				if err == nil {
					t.Fatal("newStorage succeeded against a failing transport")
				}
				msg := err.Error()
				t.Log(msg)
				if strings.Contains(msg, "c2VjcmV0") {
					t.Errorf("error text shows a secret: %s", msg)
				}
				if !strings.Contains(msg, `open container "backups"`) {
					t.Errorf("error %q lacks its context", msg)
				}
			})
		}
	}
}

// ListBlobs asks for the storage prefix plus the caller's, strips the
// storage prefix from the names, and reads the kept modification time.
func TestListBlobsPrefix(t *testing.T) {
	set := time.Date(2020, 1, 2, 12, 30, 40, 0, time.UTC)
	list := `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="backups"><Blobs>` +
		`<Blob><Name>team-a/abc</Name><Properties><Last-Modified>Mon, 02 Jan 2006 15:04:05 GMT</Last-Modified><Content-Length>3</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>` +
		`<Blob><Name>team-a/abd</Name><Properties><Last-Modified>Mon, 02 Jan 2006 15:04:05 GMT</Last-Modified><Content-Length>7</Content-Length><BlobType>BlockBlob</BlobType></Properties>` +
		fmt.Sprintf(`<Metadata><Kopiamtime>%d</Kopiamtime></Metadata></Blob>`, set.UnixNano()) +
		`</Blobs><NextMarker /></EnumerationResults>`
	s, fake := open(t, keyOpts, func(r *http.Request) (*http.Response, error) {
		return respond(r, 200, map[string]string{"Content-Type": "application/xml"}, list), nil
	})
	var got []blob.Metadata
	if err := s.ListBlobs(t.Context(), "ab", func(m blob.Metadata) error { got = append(got, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if p := fake.last().URL.Query().Get("prefix"); p != "team-a/ab" {
		t.Errorf("listed prefix %q, want %q", p, "team-a/ab")
	}
	want := []blob.Metadata{
		{BlobID: "abc", Length: 3, Timestamp: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)},
		{BlobID: "abd", Length: 7, Timestamp: set},
	}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("listed (-got +want):\n%s", diff)
	}
	stop := errors.New("stop")
	if err := s.ListBlobs(t.Context(), "", func(blob.Metadata) error { return stop }); err != stop {
		t.Errorf("ListBlobs returned %v, want the callback's error unchanged", err)
	}
}

// PutBlob sends the condition and the time kept in metadata, and refuses
// retention.
func TestPutBlobOptions(t *testing.T) {
	lastMod := "Mon, 02 Jan 2006 15:04:05 GMT"
	s, fake := open(t, keyOpts, func(r *http.Request) (*http.Response, error) {
		return respond(r, 201, map[string]string{"Last-Modified": lastMod, "ETag": `"0x1"`}, ""), nil
	})
	set := time.Date(2020, 1, 2, 12, 30, 40, 0, time.UTC)
	var got time.Time
	if err := s.PutBlob(t.Context(), "x", bytesOf("data"), blob.PutOptions{DoNotRecreate: true, SetModTime: set, GetModTime: &got}); err != nil {
		t.Fatal(err)
	}
	r := fake.last()
	if h := r.Header.Get("If-None-Match"); h != "*" {
		t.Errorf("If-None-Match = %q, want *", h)
	}
	if h, want := header(r, "x-ms-meta-Kopiamtime"), fmt.Sprint(set.UnixNano()); h != want {
		t.Errorf("x-ms-meta-Kopiamtime = %q, want %q", h, want)
	}
	if !got.Equal(set) {
		t.Errorf("GetModTime = %v, want the set time %v", got, set)
	}
	if err := s.PutBlob(t.Context(), "x", bytesOf("data"), blob.PutOptions{GetModTime: &got}); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC); !got.Equal(want) {
		t.Errorf("GetModTime = %v, want the service's %v", got, want)
	}
	err := s.PutBlob(t.Context(), "x", bytesOf("data"), blob.PutOptions{RetentionMode: blob.Governance, RetentionPeriod: time.Hour})
	if !errors.Is(err, blob.ErrUnsupportedPutBlobOption) {
		t.Errorf("PutBlob with retention: got %v, want ErrUnsupportedPutBlobOption", err)
	}
	if err := s.ExtendBlobRetention(t.Context(), "x", blob.ExtendOptions{}); !errors.Is(err, blob.ErrUnsupportedObjectLock) {
		t.Errorf("ExtendBlobRetention: got %v, want ErrUnsupportedObjectLock", err)
	}
	if _, err := s.GetCapacity(t.Context()); !errors.Is(err, blob.ErrNotAVolume) {
		t.Errorf("GetCapacity: got %v, want ErrNotAVolume", err)
	}
}

// GetBlob asks for the right range, and a short answer is an invalid range.
func TestGetBlobRange(t *testing.T) {
	content := "0123456789"
	s, fake := open(t, keyOpts, func(r *http.Request) (*http.Response, error) {
		var from, to int
		if _, err := fmt.Sscanf(header(r, "x-ms-range"), "bytes=%d-%d", &from, &to); err != nil {
			return respond(r, 200, map[string]string{"ETag": `"0x1"`}, content), nil
		}
		to = min(to, len(content)-1)
		return respond(r, 206, map[string]string{"ETag": `"0x1"`, "Content-Range": fmt.Sprintf("bytes %d-%d/%d", from, to, len(content))}, content[from:to+1]), nil
	})
	var out buffer
	out.WriteString("stale")
	if err := s.GetBlob(t.Context(), "x", 2, 3, &out); err != nil {
		t.Fatal(err)
	}
	if got := header(fake.last(), "x-ms-range"); got != "bytes=2-4" {
		t.Errorf("x-ms-range = %q, want bytes=2-4", got)
	}
	if out.String() != "234" {
		t.Errorf("got %q, want %q", out.String(), "234")
	}
	if err := s.GetBlob(t.Context(), "x", 8, 5, &out); !errors.Is(err, blob.ErrInvalidRange) {
		t.Errorf("short range: got %v, want ErrInvalidRange", err)
	}
	if err := s.GetBlob(t.Context(), "x", -1, 5, &out); !errors.Is(err, blob.ErrInvalidRange) {
		t.Errorf("negative offset: got %v, want ErrInvalidRange", err)
	}
	if err := s.GetBlob(t.Context(), "x", 0, -1, &out); err != nil || out.String() != content {
		t.Errorf("whole blob: got %q, %v", out.String(), err)
	}
}

// header looks a request header up without regard to case: azblob sets
// some (x-ms-range, x-ms-meta-*) under non-canonical keys.
func header(r *http.Request, name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// buffer is a blob.OutputBuffer.
type buffer struct{ bytes.Buffer }

func (b *buffer) Length() int { return b.Len() }

// bytesOf is a blob.Bytes.
type bytesOf string

func (b bytesOf) Length() int { return len(b) }
func (b bytesOf) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, string(b))
	return int64(n), err
}
func (b bytesOf) Reader() io.ReadSeekCloser { return nopCloser{strings.NewReader(string(b))} }

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }
