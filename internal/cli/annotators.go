package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/api"
)

// annotatorsCmd manages the people who label items in the annotator app.
func annotatorsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "annotators",
		Short: "Manage annotators: add (prints an invite link), list, pause, resume",
	}
	cmd.AddCommand(annotatorsAddCmd(g), annotatorsListCmd(g), annotatorsPauseCmd(g, true), annotatorsPauseCmd(g, false))
	return cmd
}

func annotatorsAddCmd(g *globals) *cobra.Command {
	var labels string
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add an annotator and print its invite link (shown once; only its hash is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			out, err := g.client().CreateAnnotator(cmd.Context(), api.AnnotatorCreate{Name: args[0], Labels: l})
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, out)
				return nil
			}
			fmt.Fprintln(g.stdout, out.Link)
			fmt.Fprintf(g.stderr, "annotator %s added: send them the link above; it is shown only now\n", out.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&labels, "labels", "", "labels that human stages may require, e.g. lang=fr,level=expert")
	return cmd
}

func annotatorsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List annotators: answers, gold accuracy, agreement, speed, paused",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := g.client().Annotators(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, list)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tANSWERS\tGOLD\tAGREE\tEST.ACC\tMEDIAN\tHOLDS\tSEEN\tREASON")
			for _, a := range list {
				state := "active"
				if a.Paused {
					state = "paused"
				}
				gold := "-"
				if a.GoldAccuracy != nil {
					gold = fmt.Sprintf("%d/%d", a.GoldCorrect, a.GoldAnswers)
				}
				seen := "never"
				if a.LastSeen != nil {
					seen = time.Since(*a.LastSeen).Round(time.Second).String() + " ago"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.Name, state, a.Answers, gold, pct(a.Agreement),
					pct(a.EstimatedAccuracy), (time.Duration(a.MedianMS) * time.Millisecond).String(), a.Leased, seen, a.PauseReason)
			}
			return tw.Flush()
		},
	}
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100**p)
}

func annotatorsPauseCmd(g *globals, pause bool) *cobra.Command {
	var reason string
	use, short := "resume NAME", "Let a paused annotator work again"
	if pause {
		use, short = "pause NAME", "Pause an annotator: it gets no new items"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.client().PauseAnnotator(cmd.Context(), args[0], pause, reason)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, a)
				return nil
			}
			verb := "resumed"
			if pause {
				verb = "paused"
			}
			fmt.Fprintf(g.stdout, "annotator %s %s\n", a.Name, verb)
			return nil
		},
	}
	if pause {
		cmd.Flags().StringVar(&reason, "reason", "", "why (shown in listings)")
	}
	return cmd
}

// answersCmd exports a job's human answers.
func answersCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "answers JOB",
		Short: "Write every answer of a job's human stages as CSV (question,worker,answer,...)",
		Long:  "The CSV starts with question,worker,answer, so `myriad aggregate` reads it as it is.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			id, err := resolveJob(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			w := g.stdout
			if out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return c.JobAnswers(cmd.Context(), id, w)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output CSV (- for stdout)")
	return cmd
}

// printHuman prints a job's human stages under its status.
func printHuman(w *tabwriter.Writer, st *api.JobStatus) {
	if len(st.Human) == 0 {
		return
	}
	fmt.Fprintln(w, "HUMAN STAGE\tSTATE\tLABELLED\tMODEL\tANSWERS\tANNOTATORS\tPAUSED\tSPENT\tREMAINING")
	for _, h := range st.Human {
		remaining := "-"
		if h.Remaining != nil {
			remaining = fmt.Sprintf("%.2f", *h.Remaining)
			if h.Exhausted {
				remaining += " (exhausted)"
			}
		}
		cur := strings.TrimSpace(" " + h.Currency)
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%d\t%d\t%d\t%.2f %s\t%s\n", h.Stage, h.State, h.Stopped, h.Items, h.Model,
			h.Answers+h.GoldAnswers, h.Annotators, h.Paused, h.Spent, cur, remaining)
	}
}
