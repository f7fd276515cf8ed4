package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/task"
)

func submitCmd(g *globals) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "submit JOB.yaml",
		Short: "Submit a job; prints its id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := g.client()
			known, err := remoteOps(ctx, c)
			if err != nil {
				return fmt.Errorf("ask %s for its operators: %w", g.server(), err)
			}
			j, err := loadJob(args[0], known)
			if err != nil {
				return err
			}
			if err := resolveImages(ctx, g.blobClient(), j, args[0], g.stderr); err != nil {
				return err
			}
			sub, err := c.Submit(ctx, j)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, sub)
			} else {
				fmt.Fprintln(g.stdout, sub.ID)
			}
			if !wait {
				return nil
			}
			return watch(ctx, g, c, sub.ID)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "watch the job's progress until it ends")
	return cmd
}

// watch shows progress until the job ends and turns its end into an exit
// code.
func watch(ctx context.Context, g *globals, c *client.Client, id string) error {
	update := newProgress(g.stderr).update
	if g.json {
		// One JSON status per line on stdout (at most one a second, and
		// the last), for scripts.
		enc := json.NewEncoder(g.stdout)
		var last time.Time
		update = func(st *api.JobStatus) {
			if st.State.Final() || time.Since(last) >= time.Second {
				last = time.Now()
				enc.Encode(st)
			}
		}
	}
	st, err := c.Wait(ctx, id, update)
	if err != nil {
		return err
	}
	return jobExit(g, st)
}

func jobExit(g *globals, st *api.JobStatus) error {
	switch st.State {
	case task.JobCompletedWithErrors:
		for _, e := range st.Errors {
			fmt.Fprintf(g.stderr, "dead: microtask %d of stage %s after %d attempts: %s\n", e.Task, e.Stage, e.Attempts, e.Error)
		}
		return &exitError{exitJobError, fmt.Errorf("job %s completed with %d dead microtasks", st.ID, st.Counts.Dead)}
	case task.JobCanceled:
		return &exitError{exitCanceled, fmt.Errorf("job %s was canceled", st.ID)}
	}
	return nil
}

// resolveJob accepts a job id or a unique prefix of one.
func resolveJob(ctx context.Context, c *client.Client, arg string) (string, error) {
	if _, err := c.Job(ctx, arg); err == nil || !client.IsNotFound(err) {
		return arg, err
	}
	jobs, err := c.Jobs(ctx, "", 0)
	if err != nil {
		return "", err
	}
	var match []string
	for _, j := range jobs {
		if strings.HasPrefix(j.ID, arg) {
			match = append(match, j.ID)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", &exitError{exitBadInput, fmt.Errorf("no job %q", arg)}
	}
	return "", &exitError{exitBadInput, fmt.Errorf("%q matches %d jobs: %s", arg, len(match), strings.Join(match, ", "))}
}

func statusCmd(g *globals) *cobra.Command {
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "status JOB",
		Short: "Show a job's progress (done / running / failed / dead, rate, ETA)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := g.client()
			id, err := resolveJob(ctx, c, args[0])
			if err != nil {
				return err
			}
			if watchFlag {
				return watch(ctx, g, c, id)
			}
			st, err := c.Job(ctx, id)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, st)
				return nil
			}
			printStatus(g.stdout, st)
			if points, err := c.Metrics(ctx, id); err == nil {
				printLatestMetrics(g.stdout, points)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "keep showing progress until the job ends (with --json: one status per line)")
	return cmd
}

func printStatus(w io.Writer, st *api.JobStatus) {
	fmt.Fprintf(w, "job %s (%s): %s, %d items, %s elapsed, rate %s, ETA %s\n", st.ID, st.Name, st.State, st.Items,
		fmtDur(st.Elapsed), fmtRate(st.Rate), fmtETA(st))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tOP\tSTATE\tDONE\tRUNNING\tREADY\tFAILED\tDEAD\tPENDING\tMEAN")
	for _, s := range st.Stages {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.Op, s.State, s.Counts.Done,
			max(s.Expected, s.Counts.Total()-s.Counts.Pending), s.Counts.Running, s.Counts.Ready, s.Counts.Failed, s.Counts.Dead,
			s.Counts.Pending, (time.Duration(s.MeanMS * 1e6)).Round(time.Microsecond*100))
	}
	tw.Flush()
	if len(st.Human) > 0 {
		fmt.Fprintln(w)
		printHuman(tw, st)
		tw.Flush()
	}
	for _, e := range st.Errors {
		fmt.Fprintf(w, "dead: microtask %d (stage %s, %d attempts): %s\n", e.Task, e.Stage, e.Attempts, e.Error)
	}
}

func resultsCmd(g *globals) *cobra.Command {
	var out string
	var stages []string
	var dropped bool
	cmd := &cobra.Command{
		Use:   "results JOB",
		Short: "Write a job's merged results, one JSON line per item (item ids kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := g.client()
			id, err := resolveJob(ctx, c, args[0])
			if err != nil {
				return err
			}
			return writeResults(ctx, c, id, stages, dropped, out, g.stdout)
		},
	}
	cmd.Flags().BoolVar(&dropped, "dropped", false, "list the items operators dropped, with the reason, instead")
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for stdout)")
	cmd.Flags().StringSliceVar(&stages, "stage", nil, "stages to export (default the final ones)")
	return cmd
}

// writeResults streams results to a file, atomically: a failure leaves no
// partial file behind.
func writeResults(ctx context.Context, c *client.Client, id string, stages []string, dropped bool, path string, stdout io.Writer) error {
	var w io.Writer = stdout
	var f *os.File
	if path != "-" && path != "" {
		var err error
		f, err = os.CreateTemp(dirOf(path), ".results-*")
		if err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		defer os.Remove(f.Name())
		w = f
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	n := 0
	line := func(l *api.ResultLine) error { n++; return enc.Encode(l) }
	var err error
	if dropped {
		err = c.Dropped(ctx, id, line)
	} else {
		err = c.Results(ctx, id, stages, line)
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
	}
	return err
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

func jobsCmd(g *globals) *cobra.Command {
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jobs, err := g.client().Jobs(cmd.Context(), task.JobState(state), limit)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, jobs)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tDONE\tDEAD\tITEMS\tAGE")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\n", j.ID, j.Name, j.State, j.Counts.Done,
					j.Counts.Total()-j.Counts.Pending, j.Counts.Dead, j.Items, time.Since(j.CreatedAt).Round(time.Second))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only jobs in this state")
	cmd.Flags().IntVar(&limit, "limit", 50, "most jobs to list")
	return cmd
}

func cancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a running job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			id, err := resolveJob(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			st, err := c.Cancel(cmd.Context(), id)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, st)
				return nil
			}
			fmt.Fprintf(g.stdout, "job %s canceled (%d microtasks were done)\n", st.ID, st.Counts.Done)
			return nil
		},
	}
}

func workersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "workers",
		Short: "List workers: slots, running, load, operators, last heartbeat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := g.client().Workers(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, ws)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tSLOTS\tRUNNING\tLOAD\tDONE\tFAILED\tSEEN\tLABELS\tOPS")
			for _, w := range ws {
				var labels []string
				for k, v := range w.Labels {
					labels = append(labels, k+"="+v)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%d\t%d\t%s ago\t%s\t%s\n", w.ID, w.State, w.Slots, w.Running, w.Load,
					w.Done, w.Failures, time.Since(w.LastSeen).Round(time.Second), strings.Join(labels, ","), strings.Join(w.Ops, ","))
			}
			return tw.Flush()
		},
	}
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
