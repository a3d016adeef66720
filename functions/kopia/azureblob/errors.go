package azureblob

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/kopia/kopia/repo/blob"
)

// fail describes a failed Azure call on blob id: what was done, to which
// blob in which container, and why. A missing blob wraps
// blob.ErrBlobNotFound and a range outside the blob blob.ErrInvalidRange,
// as kopia expects; the Azure error stays in the chain for errors.As, but
// its text is scrubbed (see scrub).
func (s *storage) fail(op string, id blob.ID, err error) error {
	where := fmt.Sprintf("%s %q in container %q", op, id, s.opt.Container)
	switch {
	case isNotFound(err):
		return fmt.Errorf("%s: %w: %w", where, blob.ErrBlobNotFound, s.scrub(err))
	case isInvalidRange(err):
		return fmt.Errorf("%s: %w: %w", where, blob.ErrInvalidRange, s.scrub(err))
	}
	return fmt.Errorf("%s: %w", where, s.scrub(err))
}

// isNotFound reports whether err says the blob does not exist. A HEAD
// request (GetProperties) gets a 404 with the code only in a header, which
// azcore may not surface; a missing container has its own code and is not
// a missing blob.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.ErrorCode == string(bloberror.BlobNotFound) ||
		(re.ErrorCode == "" && re.StatusCode == http.StatusNotFound)
}

func isInvalidRange(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) &&
		(re.ErrorCode == string(bloberror.InvalidRange) || re.StatusCode == http.StatusRequestedRangeNotSatisfiable)
}

// scrubbedError carries an error whose own text might hold a secret behind
// a text that does not. errors.Is and errors.As see the original.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// redacted replaces secrets in error text.
const redacted = "REDACTED"

// scrub wraps err so that its text holds no secret. An Azure response
// error becomes its status and error code (its full text is a multi-line
// dump with the response body); a transport error (*url.Error, whose text
// has the request URL, SAS and all) loses the URL's query; and any
// remaining occurrence of the key, the SAS or its signature is replaced.
func (s *storage) scrub(err error) error {
	if err == nil {
		return nil
	}
	var msg string
	var re *azcore.ResponseError
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		msg = fmt.Sprintf("azure storage responded %d %s (%s)", re.StatusCode, http.StatusText(re.StatusCode), code)
	case errors.As(err, &ue):
		msg = fmt.Sprintf("%s %s: %v", ue.Op, withoutQuery(ue.URL), ue.Err)
		if outer := err.Error(); outer != ue.Error() {
			// Keep what wrapped the url.Error, e.g. a retry count.
			msg = strings.Replace(outer, ue.Error(), msg, 1)
		}
	default:
		msg = err.Error()
	}
	for _, secret := range s.secrets {
		msg = strings.ReplaceAll(msg, secret, redacted)
	}
	return &scrubbedError{msg: msg, err: err}
}

// withoutQuery returns raw without its query string and fragment.
func withoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i] + "?" + redacted
	}
	return raw
}

// secretsOf lists the strings that must never appear in error text: the
// account key, the SAS token and its signature, each also as it appears
// escaped in a URL.
func secretsOf(o *Options) []string {
	var raw []string
	if o.AccountKey != "" {
		raw = append(raw, o.AccountKey)
	}
	if o.SASToken != "" {
		q := strings.TrimPrefix(strings.TrimSpace(o.SASToken), "?")
		raw = append(raw, q)
		if v, err := url.ParseQuery(q); err == nil {
			if sig := v.Get("sig"); sig != "" {
				raw = append(raw, sig)
			}
		}
	}
	var out []string
	for _, r := range raw {
		for _, v := range []string{r, url.QueryEscape(r), url.PathEscape(r)} {
			// An empty secret would make ReplaceAll insert at every rune.
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
