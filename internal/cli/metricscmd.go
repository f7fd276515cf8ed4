package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/api"
)

func metricsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "metrics JOB",
		Short: "Print a job's training curves (loss, accuracy per epoch / round / fold)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := g.client()
			id, err := resolveJob(ctx, c, args[0])
			if err != nil {
				return err
			}
			points, err := c.Metrics(ctx, id)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, api.Metrics{Points: points})
				return nil
			}
			if len(points) == 0 {
				fmt.Fprintf(g.stdout, "job %s has no metrics\n", id)
				return nil
			}
			printMetrics(g.stdout, points)
			return nil
		},
	}
}

// printMetrics prints one row per stage, series and step, one column per
// metric name in the order names first appear.
func printMetrics(w io.Writer, points []api.MetricPoint) {
	type key struct {
		stage, series string
		step          int
	}
	var names []string
	seen := map[string]bool{}
	var rows []key
	vals := map[key]map[string]float64{}
	for _, p := range points {
		if !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
		k := key{p.Stage, p.Series, p.Step}
		if vals[k] == nil {
			vals[k] = map[string]float64{}
			rows = append(rows, k)
		}
		vals[k][p.Name] = p.Value
	}
	// Rows by stage, then series (each in order of first appearance),
	// then step: one curve after another, however the microtasks that
	// reported them interleaved.
	first := map[string]int{}
	for i, k := range rows {
		for _, name := range []string{"stage\x00" + k.stage, "series\x00" + k.stage + "\x00" + k.series} {
			if _, ok := first[name]; !ok {
				first[name] = i
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if x, y := first["stage\x00"+a.stage], first["stage\x00"+b.stage]; x != y {
			return x < y
		}
		if x, y := first["series\x00"+a.stage+"\x00"+a.series], first["series\x00"+b.stage+"\x00"+b.series]; x != y {
			return x < y
		}
		return a.step < b.step
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "STAGE\tSERIES\tSTEP")
	for _, n := range names {
		fmt.Fprintf(tw, "\t%s", n)
	}
	fmt.Fprintln(tw)
	for _, k := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d", k.stage, k.series, k.step)
		for _, n := range names {
			if v, ok := vals[k][n]; ok {
				fmt.Fprintf(tw, "\t%s", strconv.FormatFloat(v, 'g', 5, 64))
			} else {
				fmt.Fprint(tw, "\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// latestMetrics is the last value of each (stage, series, name), in the
// order they first appear: what status shows.
func latestMetrics(points []api.MetricPoint) []api.MetricPoint {
	type key struct{ stage, series, name string }
	idx := map[key]int{}
	var out []api.MetricPoint
	for _, p := range points {
		k := key{p.Stage, p.Series, p.Name}
		if i, ok := idx[k]; ok {
			out[i] = p
			continue
		}
		idx[k] = len(out)
		out = append(out, p)
	}
	return out
}

// maxLatest bounds the rows status shows (a search has a curve per trial
// and fold); metrics prints them all.
const maxLatest = 16

func printLatestMetrics(w io.Writer, points []api.MetricPoint) {
	latest := latestMetrics(points)
	if len(latest) == 0 {
		return
	}
	more := 0
	if len(latest) > maxLatest {
		more = len(latest) - maxLatest
		latest = latest[len(latest)-maxLatest:]
	}
	fmt.Fprintln(w, "\nlatest metrics (myriad metrics JOB for the curves):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSERIES\tNAME\tSTEP\tVALUE")
	for _, p := range latest {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", p.Stage, p.Series, p.Name, p.Step, strconv.FormatFloat(p.Value, 'g', 5, 64))
	}
	tw.Flush()
	if more > 0 {
		fmt.Fprintf(w, "(%d earlier curves not shown)\n", more)
	}
}
