package repository

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strings"

	"github.com/kopia/kopia/repo/blob"
)

// credentialsRedactedAs replaces a secret value in messages.
const credentialsRedactedAs = "<redacted>"

// redactor removes secret values from error messages.
type redactor []string

// newRedactor returns a redactor for the non-empty secrets, longest first so
// a secret that contains another is removed whole.
func newRedactor(secrets ...string) redactor {
	var r redactor

	for _, s := range secrets {
		if s != "" {
			r = append(r, s)
		}
	}

	sort.Slice(r, func(i, j int) bool { return len(r[i]) > len(r[j]) })

	return r
}

// wrap returns err unchanged when its message holds no secret, and otherwise
// an error whose message has every secret replaced. The result still answers
// errors.Is for err's chain, but does not unwrap, so the original message
// can't be reached by printing an unwrapped error.
func (r redactor) wrap(err error) error {
	if err == nil {
		return nil
	}

	msg := err.Error()
	clean := msg

	for _, s := range r {
		clean = strings.ReplaceAll(clean, s, credentialsRedactedAs)
	}

	if clean == msg {
		return err
	}

	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets errors.Is see the wrapped chain (e.g. blob.ErrBlobNotFound).
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// sasSecrets returns a SAS token in the forms it can take inside a URL, and
// its signature on its own.
func sasSecrets(token string) []string {
	token = strings.TrimPrefix(token, "?")
	if token == "" {
		return nil
	}

	out := []string{token}

	q, err := url.ParseQuery(token)
	if err != nil {
		return out
	}

	for _, sig := range q["sig"] {
		out = append(out, sig, url.QueryEscape(sig), url.PathEscape(sig))
	}

	return out
}

// redactingStorage scrubs secrets from every error a storage returns, for
// backends whose errors may quote request URLs or headers.
type redactingStorage struct {
	blob.Storage

	r redactor
}

func (s *redactingStorage) GetCapacity(ctx context.Context) (blob.Capacity, error) {
	c, err := s.Storage.GetCapacity(ctx)
	return c, s.r.wrap(err)
}

func (s *redactingStorage) GetBlob(ctx context.Context, id blob.ID, offset, length int64, out blob.OutputBuffer) error {
	return s.r.wrap(s.Storage.GetBlob(ctx, id, offset, length, out))
}

func (s *redactingStorage) GetMetadata(ctx context.Context, id blob.ID) (blob.Metadata, error) {
	m, err := s.Storage.GetMetadata(ctx, id)
	return m, s.r.wrap(err)
}

func (s *redactingStorage) ListBlobs(ctx context.Context, prefix blob.ID, cb func(blob.Metadata) error) error {
	return s.r.wrap(s.Storage.ListBlobs(ctx, prefix, cb))
}

func (s *redactingStorage) PutBlob(ctx context.Context, id blob.ID, data blob.Bytes, opts blob.PutOptions) error {
	return s.r.wrap(s.Storage.PutBlob(ctx, id, data, opts))
}

func (s *redactingStorage) DeleteBlob(ctx context.Context, id blob.ID) error {
	return s.r.wrap(s.Storage.DeleteBlob(ctx, id))
}

func (s *redactingStorage) Close(ctx context.Context) error {
	return s.r.wrap(s.Storage.Close(ctx))
}

func (s *redactingStorage) FlushCaches(ctx context.Context) error {
	return s.r.wrap(s.Storage.FlushCaches(ctx))
}

func (s *redactingStorage) ExtendBlobRetention(ctx context.Context, id blob.ID, opts blob.ExtendOptions) error {
	return s.r.wrap(s.Storage.ExtendBlobRetention(ctx, id, opts))
}

// DisplayName is scrubbed too: it is shown to people.
func (s *redactingStorage) DisplayName() string {
	name := s.Storage.DisplayName()
	for _, sec := range s.r {
		name = strings.ReplaceAll(name, sec, credentialsRedactedAs)
	}

	return name
}
