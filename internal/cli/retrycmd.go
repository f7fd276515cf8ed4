package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// retryCmd puts a job's dead microtasks back in the queue.
func retryCmd(g *globals) *cobra.Command {
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "retry JOB",
		Short: "Run a job's dead microtasks again (a job that completed with errors runs again)",
		Long: "Dead microtasks get a fresh attempt budget. A job that completed with errors is\n" +
			"reopened; the map stages below the retried microtasks take their output. Refused\n" +
			"(exit 2) for a canceled or completed job, or when a reduce stage below has already\n" +
			"merged its inputs.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c := g.client()
			id, err := resolveJob(ctx, c, args[0])
			if err != nil {
				return err
			}
			r, err := c.Retry(ctx, id)
			if err != nil {
				return err
			}
			if watchFlag {
				if !g.json {
					fmt.Fprintf(g.stderr, "job %s: %d dead microtasks retried\n", id, r.Revived)
				}
				return watch(ctx, g, c, id)
			}
			if g.json {
				printJSON(g.stdout, r)
				return nil
			}
			fmt.Fprintf(g.stdout, "job %s: %d dead microtasks retried; it is %s\n", id, r.Revived, r.Job.State)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "then show progress until the job ends")
	return cmd
}
