package mover

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// lines decodes the mover's standard output.
func lines(t *testing.T, out *bytes.Buffer) []Line {
	t.Helper()
	var ls []Line
	for _, raw := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l Line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		ls = append(ls, l)
	}
	return ls
}

// TestRunExportRestoreAndWrongPassword exports a directory to a
// filesystem repository and restores it; a wrong password then ends with
// a permanent error line, and never touches the repository.
func TestRunExportRestoreAndWrongPassword(t *testing.T) {
	src, repoDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "date.txt"), []byte("2026-11-22T10:00:00Z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := Request{
		Location: v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: repoDir},
		Source:   Source{Host: "test", User: "shop", Path: "data"}, Dir: src, ConfigDir: t.TempDir(),
	}
	var out bytes.Buffer
	if err := Run(t.Context(), ModeExport, req, repository.Credentials{Password: "right"}, &out); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, &out)
	res := ls[len(ls)-1].Result
	if res == nil || res.SnapshotID == "" || res.Files != 1 {
		t.Fatalf("last line %+v, want a result with one file", ls[len(ls)-1])
	}

	restore := req
	restore.Dir, restore.ConfigDir, restore.SnapshotID, restore.VerifyPercent = t.TempDir(), t.TempDir(), res.SnapshotID, 100
	out.Reset()
	if err := Run(t.Context(), ModeRestore, restore, repository.Credentials{Password: "right"}, &out); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(restore.Dir, "date.txt")); err != nil || string(got) != "2026-11-22T10:00:00Z\n" {
		t.Errorf("restored %q, %v", got, err)
	}

	out.Reset()
	restore.Dir, restore.ConfigDir = t.TempDir(), t.TempDir()
	err := Run(t.Context(), ModeRestore, restore, repository.Credentials{Password: "guess-1234"}, &out)
	last := lines(t, &out)[0]
	if err == nil || !last.Permanent || !strings.Contains(last.Error, "wrong repository password") {
		t.Errorf("wrong password: err %v, line %+v; want a permanent error saying so", err, last)
	}
}

// TestRunRecordAndForget stores a restore point for an export, then
// forgets the export: the restore point goes with it. A request missing
// what its mode needs fails permanently.
func TestRunRecordAndForget(t *testing.T) {
	src, repoDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := repository.Credentials{Password: "right"}
	loc := v1alpha1.LocationSpec{Type: v1alpha1.LocationTypeFilesystem, Path: repoDir}
	run := func(mode string, req Request) (Line, error) {
		t.Helper()
		var out bytes.Buffer
		req.Location, req.ConfigDir = loc, t.TempDir()
		err := Run(t.Context(), mode, req, creds, &out)
		ls := lines(t, &out)
		return ls[len(ls)-1], err
	}

	exported, err := run(ModeExport, Request{Source: Source{Host: "test", User: "shop", Path: "data"}, Dir: src})
	if err != nil {
		t.Fatal(err)
	}
	sid := exported.Result.SnapshotID
	rp := repository.RestorePoint{Blueprint: "bp", Action: "backup", Snapshots: map[string]string{"shop/data": sid}}
	recorded, err := run(ModeRecord, Request{RestorePoint: &rp})
	if err != nil || !recorded.Done(ModeRecord) || recorded.RestorePoint == "" {
		t.Fatalf("record: %+v, %v; want a restore point ID", recorded, err)
	}

	forgot, err := run(ModeForget, Request{SnapshotIDs: []string{sid}})
	if err != nil || forgot.Forgotten == nil || *forgot.Forgotten != (repository.Forgotten{RestorePoints: 1, Snapshots: 1}) {
		t.Fatalf("forget: %+v, %v; want one restore point and one snapshot deleted", forgot, err)
	}

	bad, err := run(ModeRecord, Request{})
	if err == nil || !bad.Permanent || !strings.Contains(bad.Error, "record needs a restorePoint") {
		t.Errorf("record without a restore point: %+v, %v; want a permanent error saying so", bad, err)
	}
}

func TestLineDoneOnlyWithItsModesResult(t *testing.T) {
	result := Line{Result: &repository.Result{}}
	point := Line{RestorePoint: "p"}
	forgotten := Line{Forgotten: &repository.Forgotten{}}
	for _, tc := range []struct {
		line Line
		mode string
		want bool
	}{
		{result, ModeExport, true}, {result, ModeRestore, true}, {result, ModeRecord, false}, {result, ModeForget, false},
		{point, ModeRecord, true}, {point, ModeExport, false}, {point, ModeRestore, false},
		{forgotten, ModeForget, true}, {forgotten, ModeExport, false},
		{Line{Result: &repository.Result{}, Error: "boom"}, ModeExport, false},
		{Line{Progress: &repository.Progress{}}, ModeExport, false},
		{result, "unknown", false},
	} {
		if got := tc.line.Done(tc.mode); got != tc.want {
			t.Errorf("%+v.Done(%s) = %v, want %v", tc.line, tc.mode, got, tc.want)
		}
	}
}
