package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/ops/imageops"
	"github.com/myriadhq/myriad/ops/mlops"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// loadJob parses a job file, reads its input files and checks it against
// the operators known, so errors name the file's lines before anything is
// sent.
func loadJob(path string, known spec.Ops) (*spec.Job, error) {
	j, err := spec.ParseFile(path)
	if err != nil {
		return nil, err
	}
	if err := inlineModelFiles(j, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if _, err := spec.Compile(j, known); err != nil {
		return nil, err
	}
	if err := spec.Resolve(j, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if j.Input.ImageInput() {
		return j, nil // checked once resolveImages has stored the images
	}
	if _, err := spec.Items(j); err != nil {
		return nil, err
	}
	return j, nil
}

// resolveImages stores the images of a job's image input in s (the
// coordinator's blob store) and makes them the job's items, telling the
// user what was read and skipped. Other inputs are left alone.
func resolveImages(ctx context.Context, s blob.Store, j *spec.Job, specPath string, stderr io.Writer) error {
	if !j.Input.ImageInput() {
		return nil
	}
	start := time.Now()
	rep, err := imageops.ResolveInput(ctx, s, j, filepath.Dir(specPath))
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", specPath, err))
	}
	fmt.Fprintf(stderr, "input: %d images from %s stored as blobs in %v", rep.Items, rep.Source, time.Since(start).Round(time.Millisecond))
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stderr, "; %d skipped:", len(rep.Skipped))
		for i, sk := range rep.Skipped {
			if i == 10 {
				fmt.Fprintf(stderr, "\n  … and %d more", len(rep.Skipped)-10)
				break
			}
			fmt.Fprintf(stderr, "\n  %s: %s", sk.Source, sk.Reason)
		}
	}
	fmt.Fprintln(stderr)
	if _, err := spec.Items(j); err != nil {
		return err
	}
	return nil
}

// blobClient reaches the blob store of the coordinator at server (the
// first of several) with the command's token and HTTP client.
func (g *globals) blobClient() *blob.Client {
	first, _, _ := strings.Cut(g.server(), ",")
	c := &blob.Client{BaseURL: strings.TrimSuffix(first, "/") + "/v1/blobs", HTTP: g.http}
	if g.token != "" {
		c.Header = http.Header{"Authorization": {"Bearer " + g.token}}
	}
	return c
}

// remoteOps asks the coordinator which operators it knows.
func remoteOps(ctx context.Context, c *client.Client) (spec.Ops, error) {
	list, err := c.Ops(ctx)
	if err != nil {
		return nil, err
	}
	m := opNames{}
	for _, o := range list {
		m[o.Name] = task.Map
		if o.Reduce {
			m[o.Name] = task.Reduce
		}
	}
	return m, nil
}

// opNames maps operator names to their default stage kind.
type opNames map[string]task.StageKind

// CheckStage checks the params of the operators the CLI knows (human
// and image stages), so their errors name the spec file's lines before anything
// is sent (see spec.ParamChecker).
func (o opNames) CheckStage(raw *spec.Stage, s *task.Stage) []spec.ParamError {
	if s.Op == human.Op {
		return human.CheckStage(raw, s)
	}
	if check := imageops.CheckParams(s.Op); check != nil {
		return check(raw, s)
	}
	if info, ok := mlops.CoordOps()[s.Op]; ok && info.Check != nil {
		return info.Check(raw, s)
	}
	return nil
}

func (o opNames) Lookup(op string) (task.StageKind, bool) { k, ok := o[op]; return k, ok }
func (o opNames) Names() []string {
	out := make([]string, 0, len(o))
	for n := range o {
		out = append(out, n)
	}
	return out
}
