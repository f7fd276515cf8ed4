package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/task"
)

func runCmd(g *globals) *cobra.Command {
	var sf serverFlags
	var wf workerFlags
	var out string
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
			log := g.logger()
			s, err := sf.start(ctx, log)
			if err != nil {
				return err
			}
			defer shutdown(s)
			w, err := wf.worker(s.URL(), log)
			if err != nil {
				return err
			}
			wctx, stopWorker := context.WithCancel(context.Background())
			wait := runWorker(wctx, w)
			defer func() { stopWorker(); wait() }()
			if err := resolveImages(ctx, s.Blobs(), j, args[0], g.stderr); err != nil {
				return err
			}
			c := client.New(s.URL())
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
			if g.json {
				printJSON(g.stdout, st)
			}
			return jobExit(g, st)
		},
	}
	sf.register(cmd.Flags(), "127.0.0.1:0")
	wf.register(cmd.Flags(), "local worker slots")
	cmd.Flags().StringVarP(&out, "output", "o", "", "results file (default JOB.results.jsonl; - for stdout)")
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
