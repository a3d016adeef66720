package repository

import (
	"context"
	"errors"
	"testing"

	"github.com/kopia/kopia/fs"
	"github.com/kopia/kopia/snapshot"
)

func TestUploadError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	failed := &snapshot.Manifest{RootEntry: &snapshot.DirEntry{DirSummary: &fs.DirectorySummary{
		FatalErrorCount: 12,
		FailedEntries: []*fs.EntryWithError{
			{EntryPath: "db/base/1", Error: "read: input/output error"},
			{EntryPath: "db/base/2", Error: "open: permission denied"},
		},
	}}}
	ok := &snapshot.Manifest{RootEntry: &snapshot.DirEntry{DirSummary: &fs.DirectorySummary{}}}
	incomplete := &snapshot.Manifest{RootEntry: ok.RootEntry, IncompleteReason: "limit reached"}

	for _, tc := range []struct {
		name string
		ctx  context.Context
		man  *snapshot.Manifest
		err  error
		want string
	}{
		{"complete", context.Background(), ok, nil, ""},
		{"canceled", canceled, nil, errors.New("canceled"), "upload stopped: context canceled"},
		{"kopia error", context.Background(), nil, errors.New("boom"), "kopia upload: boom"},
		{"failed entries", context.Background(), failed, nil, "12 entries failed: db/base/1: read: input/output error\ndb/base/2: open: permission denied"},
		{"incomplete", context.Background(), incomplete, nil, "upload incomplete: limit reached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := uploadError(tc.ctx, tc.man, tc.err); err != nil {
				got = err.Error()
			}

			if got != tc.want {
				t.Errorf("uploadError = %q, want %q", got, tc.want)
			}
		})
	}
}
