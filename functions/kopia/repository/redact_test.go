package repository

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/kopia/kopia/repo/blob"
)

func TestRedactorWrap(t *testing.T) {
	r := newRedactor("", "abc", "abcdef")

	plain := fmt.Errorf("no secret here: %w", blob.ErrBlobNotFound)
	if got := r.wrap(plain); got != plain {
		t.Errorf("wrap changed an error without secrets: %v", got)
	}

	err := r.wrap(fmt.Errorf("GET /x?key=abcdef and abc: %w", blob.ErrBlobNotFound))
	if got, want := err.Error(), "GET /x?key=<redacted> and <redacted>: BLOB not found"; got != want {
		t.Errorf("wrap = %q, want %q", got, want)
	}

	if !errors.Is(err, blob.ErrBlobNotFound) {
		t.Error("redacted error lost errors.Is")
	}

	if errors.Unwrap(err) != nil {
		t.Error("redacted error unwraps to the unredacted one")
	}

	if r.wrap(nil) != nil {
		t.Error("wrap(nil) != nil")
	}
}

// stubStorage fails every read with an error quoting a request URL.
type stubStorage struct {
	blob.Storage

	url string
}

func (s stubStorage) GetBlob(context.Context, blob.ID, int64, int64, blob.OutputBuffer) error {
	return fmt.Errorf("GET %s: 404: %w", s.url, blob.ErrBlobNotFound)
}

func (s stubStorage) DisplayName() string { return "stub " + s.url }

func TestRedactingStorageScrubsSASSignature(t *testing.T) {
	sig := "a+b/c=="
	token := "sv=2024-01-01&sp=rl&sig=" + url.QueryEscape(sig)
	c := Credentials{AzureSASToken: token}
	st := &redactingStorage{
		Storage: stubStorage{url: "https://acct.blob.core.windows.net/c/kopia.repository?sv=2024-01-01&sig=" + url.QueryEscape(sig)},
		r:       newRedactor(c.secrets()...),
	}

	err := st.GetBlob(t.Context(), "kopia.repository", 0, -1, &outputBuffer{})
	if !errors.Is(err, blob.ErrBlobNotFound) {
		t.Errorf("GetBlob error lost ErrBlobNotFound: %v", err)
	}

	for _, s := range []string{err.Error(), st.DisplayName()} {
		if strings.Contains(s, url.QueryEscape(sig)) || strings.Contains(s, sig) {
			t.Errorf("signature shown: %s", s)
		}
	}
}
