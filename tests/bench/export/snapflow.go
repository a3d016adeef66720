package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/snapflow/snapflow/functions/kopia/repository"
	"github.com/snapflow/snapflow/functions/mover"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// snapflowRepo is a repository snapflow exports to, reached as a mover pod
// reaches it.
type snapflowRepo struct {
	loc      v1alpha1.LocationSpec
	creds    repository.Credentials
	parallel int    // mover.Request.Parallel; 0 is one per CPU
	work     string // where fresh config dirs are made
}

// benchSource is the snapshot source every snapflow export uses.
var benchSource = mover.Source{Host: "bench-cluster", User: "bench", Path: "data"}

// create creates the empty repository, so that the timed export doesn't
// include creating it (nor does the kopia CLI's).
func (r snapflowRepo) create(ctx context.Context) error {
	st, err := repository.NewStorage(ctx, r.loc, r.creds, true)
	if err != nil {
		return fmt.Errorf("create repository: %w", err)
	}
	defer st.Close(context.WithoutCancel(ctx))

	dir, err := os.MkdirTemp(r.work, "config-")
	if err != nil {
		return fmt.Errorf("create repository: %w", err)
	}
	defer os.RemoveAll(dir)

	rep, err := repository.Open(ctx, st, r.creds.Password, dir)
	if err != nil {
		return fmt.Errorf("create repository: %w", err)
	}

	return rep.Close(ctx)
}

// export does what `snapflow mover export` does with dir mounted as the
// volume: open the repository with an empty config and cache dir (a mover
// pod's emptyDir) and repository.Upload dir, incremental against the last
// export.
func (r snapflowRepo) export(ctx context.Context, dir string) (repository.Result, error) {
	return r.mover(ctx, mover.ModeExport, mover.Request{Dir: dir, Parallel: r.parallel})
}

// restore does what `snapflow mover restore` does, with the restore
// function's default read-back verification of verifyPercent of the files.
func (r snapflowRepo) restore(ctx context.Context, snapshotID, dir string, verifyPercent float64) (repository.Result, error) {
	return r.mover(ctx, mover.ModeRestore, mover.Request{Dir: dir, SnapshotID: snapshotID, VerifyPercent: verifyPercent})
}

func (r snapflowRepo) mover(ctx context.Context, mode string, req mover.Request) (repository.Result, error) {
	config, err := os.MkdirTemp(r.work, "config-")
	if err != nil {
		return repository.Result{}, fmt.Errorf("mover %s: %w", mode, err)
	}
	defer os.RemoveAll(config)

	req.Location, req.Source, req.ConfigDir = r.loc, benchSource, config

	var out bytes.Buffer
	if err := mover.Run(ctx, mode, req, r.creds, &out); err != nil {
		return repository.Result{}, fmt.Errorf("mover %s: %w", mode, err)
	}

	return lastResult(&out)
}

// lastResult is the Result in the mover's output lines.
func lastResult(out *bytes.Buffer) (repository.Result, error) {
	var res *repository.Result

	s := bufio.NewScanner(out)
	for s.Scan() {
		var l mover.Line
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			return repository.Result{}, fmt.Errorf("mover output %q: %w", s.Text(), err)
		}

		if l.Result != nil {
			res = l.Result
		}
	}

	if res == nil {
		return repository.Result{}, errors.New("mover wrote no result")
	}

	return *res, nil
}
