package lintplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/snapflow/snapflow/cmd/internal/cli"
	"github.com/snapflow/snapflow/engine/celenv"
	"github.com/snapflow/snapflow/engine/plan"
	"github.com/snapflow/snapflow/engine/run"
	"github.com/snapflow/snapflow/engine/workload"
	"github.com/snapflow/snapflow/schema/v1alpha1"
)

// planActionSet and planUID stand in for the ActionSet a real run has.
const (
	planActionSet = "plan"
	planUID       = "00000000-0000-0000-0000-000000000000"
)

// planInputs are the run inputs plus the bound params and which were given.
type planInputs struct {
	run.Inputs
	bound map[string]any
	given map[string]bool
}

// inputs reads the object, artifacts and location files and binds the
// params. Unreadable files are usage errors; params that do not bind are
// findings.
func (o *PlanOptions) inputs(bp *plan.Blueprint, action *plan.Action) (*planInputs, error) {
	in := &planInputs{}
	var err error
	if in.Object, err = readYAMLMap(o.ObjectFile, "object"); err != nil {
		return nil, &cli.ExitError{Code: cli.ExitUsage, Err: err}
	}
	if in.Workload, err = workload.FromObject(in.Object); err != nil {
		return nil, &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("object %s: %w", o.ObjectFile, err)}
	}
	apiVersion, _ := in.Object["apiVersion"].(string)
	in.Target = v1alpha1.ObjectReference{APIVersion: apiVersion, Kind: in.Workload.Kind, Namespace: in.Workload.Namespace, Name: in.Workload.Name}
	if o.ArtifactsFile != "" {
		if in.Artifacts, err = readYAMLMap(o.ArtifactsFile, "artifacts"); err != nil {
			return nil, &cli.ExitError{Code: cli.ExitUsage, Err: err}
		}
	}
	if o.LocationFile != "" {
		if in.Location, err = readLocation(o.LocationFile); err != nil {
			return nil, &cli.ExitError{Code: cli.ExitUsage, Err: err}
		}
	}
	in.Action = celenv.Action{
		Name:      action.Name,
		Blueprint: bp.Name,
		ActionSet: planActionSet,
		Namespace: in.Workload.Namespace,
		UID:       planUID,
		StartTime: o.deps.Clock.Now().UTC().Truncate(time.Second),
	}
	given, err := o.givenParams(bp)
	if err != nil {
		return nil, err // a usage error, or a params file that cannot be read
	}
	in.Params, in.given = given, map[string]bool{}
	for k := range given {
		in.given[k] = true
	}
	if in.bound, err = run.BindParams(bp, given); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(o.ErrOut, "error: "+line)
		}
		return nil, cli.Findings()
	}
	return in, nil
}

// givenParams merges --params-file and --param, the flags winning.
func (o *PlanOptions) givenParams(bp *plan.Blueprint) (map[string]any, error) {
	given := map[string]any{}
	if o.ParamsFile != "" {
		m, err := readYAMLMap(o.ParamsFile, "params file")
		if err != nil {
			return nil, err
		}
		given = m
	}
	for _, p := range o.Params {
		name, text, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, cli.Usagef("--param %q: want name=value", p)
		}
		v, err := paramValue(bp, name, text)
		if err != nil {
			return nil, cli.Usagef("--param %s: %w", name, err)
		}
		given[name] = v
	}
	return given, nil
}

// paramValue reads the text of --param name=text: as it is for a param
// declared as string, as YAML otherwise.
func paramValue(bp *plan.Blueprint, name, text string) (any, error) {
	for _, p := range bp.Params {
		if p.Name == name && p.Type.Kind() == cel.StringKind {
			return text, nil
		}
	}
	return cli.ParseYAML([]byte(text))
}

// readLocation reads a snapflow Location object; only what expressions may
// read is kept, never a secret.
func readLocation(path string) (celenv.Location, error) {
	m, err := readYAMLMap(path, "location")
	if err != nil {
		return celenv.Location{}, err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return celenv.Location{}, fmt.Errorf("location %s: %w", path, err)
	}
	var loc v1alpha1.Location
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&loc); err != nil {
		return celenv.Location{}, fmt.Errorf("location %s: %w", path, err)
	}
	if loc.Kind != "Location" {
		return celenv.Location{}, fmt.Errorf("location %s: kind is %q, want Location", path, loc.Kind)
	}
	if loc.Name == "" {
		return celenv.Location{}, errors.New("location " + path + ": metadata.name is required")
	}
	s := loc.Spec
	return celenv.Location{
		Name: loc.Name, Type: string(s.Type), Endpoint: s.Endpoint, Container: s.Container,
		Bucket: s.Bucket, Path: s.Path, Prefix: s.Prefix, Region: s.Region,
	}, nil
}
