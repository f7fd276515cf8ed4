package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/task"
)

func runCmd(g *globals) *cobra.Command {
	var sf serverFlags
	var wf workerFlags
	var out, droppedOut string
	cmd := &cobra.Command{
		Use:   "run JOB.yaml",
		Short: "Run one job to the end on an embedded coordinator and local workers; write its results",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			j, err := loadJob(args[0], localOps())
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("data") {
				dir, err := os.MkdirTemp("", "myriad-run-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				sf.data = dir
			}
			if out == "" {
				base := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
				out = base + ".results.jsonl"
			}
			if len(wf.ingestRoots) == 0 {
				// The local worker's ingest operator may read files beside
				// the spec, as input.file and input.glob do.
				dir, err := filepath.Abs(filepath.Dir(args[0]))
				if err != nil {
					return err
				}
				wf.ingestRoots = []string{dir}
			}
			log := g.logger()
			s, err := sf.start(ctx, log)
			if err != nil {
				return err
			}
			defer shutdown(s)
			hc := localClient(s, &sf)
			w, err := wf.worker(s.URL(), s.AdminToken(), hc, log)
			if err != nil {
				return err
			}
			wctx, stopWorker := context.WithCancel(context.Background())
			wait := runWorker(wctx, w)
			defer func() { stopWorker(); wait() }()
			if err := resolveImages(ctx, s.Blobs(), j, args[0], g.stderr); err != nil {
				return err
			}
			c := client.New(s.URL(), client.WithToken(s.AdminToken()), client.WithHTTPClient(hc))
			sub, err := c.Submit(ctx, j)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "job %s: %d items, %d microtasks, %d slots\n", sub.ID, sub.Items, sub.Tasks, wf.slots)
			p := newProgress(g.stderr)
			st, err := c.Wait(ctx, sub.ID, p.update)
			if err != nil {
				if ctx.Err() != nil && cmd.Flags().Changed("data") {
					fmt.Fprintf(g.stderr, "interrupted; the job is kept in %s: run `myriad up --data %s` to resume it\n", sf.data, sf.data)
				}
				return err
			}
			if err := writeResults(ctx, c, sub.ID, nil, false, out, g.stdout); err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(g.stderr, "results: %s\n", out)
			}
			if err := reportDropped(ctx, c, sub.ID, droppedOut, g); err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, st)
			}
			return jobExit(g, st)
		},
	}
	sf.register(cmd.Flags(), "127.0.0.1:0")
	wf.register(cmd.Flags(), "local worker slots")
	cmd.Flags().StringVarP(&out, "output", "o", "", "results file (default JOB.results.jsonl; - for stdout)")
	cmd.Flags().StringVar(&droppedOut, "dropped", "", "also write the items operators dropped (e.g. by clean), with the reason, to this file")
	return cmd
}

// localOps are the operators of the embedded coordinator and worker.
func localOps() opNames {
	m := opNames{human.Op: task.Reduce}
	for name, info := range builtinOps() {
		m[name] = task.Map
		if info.Reduce {
			m[name] = task.Reduce
		}
	}
	return m
}

// reportDropped tells how many items operators dropped, by reason, and
// writes them to path if given: after `run` the embedded coordinator is
// gone, so this is the only chance to see clean's report.
func reportDropped(ctx context.Context, c *client.Client, id, path string, g *globals) error {
	byReason := map[string]int{}
	n := 0
	err := c.Dropped(ctx, id, func(l *api.ResultLine) error {
		reason, _, _ := strings.Cut(l.Dropped, ":")
		byReason[reason]++
		n++
		return nil
	})
	if err != nil || n == 0 {
		return err
	}
	reasons := make([]string, 0, len(byReason))
	for r, k := range byReason {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, k))
	}
	sort.Strings(reasons)
	fmt.Fprintf(g.stderr, "dropped: %d items (%s)", n, strings.Join(reasons, ", "))
	if path == "" {
		fmt.Fprintln(g.stderr, "; --dropped FILE lists them")
		return nil
	}
	fmt.Fprintf(g.stderr, ": %s\n", path)
	return writeResults(ctx, c, id, nil, true, path, g.stdout)
}
