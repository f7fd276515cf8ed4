package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func upCmd(g *globals) *cobra.Command {
	var sf serverFlags
	var wf workerFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a coordinator with local worker slots and the embedded store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			s, err := sf.start(ctx, log)
			if err != nil {
				return err
			}
			defer shutdown(s)
			var wait func()
			if wf.slots > 0 {
				w, err := wf.worker(s.URL(), s.AdminToken(), localClient(s, &sf), log)
				if err != nil {
					return err
				}
				wctx, stop := context.WithCancel(context.Background())
				wait = runWorker(wctx, w)
				defer func() { stop(); wait() }()
			}
			fmt.Fprintf(g.stdout, "myriad is up at %s (data in %s, %d local slots)\n", s.URL(), sf.data, wf.slots)
			fmt.Fprintf(g.stdout, "  submit a job:  myriad submit job.yaml --server %s\n", s.URL())
			fmt.Fprintf(g.stdout, "  dashboard:     %s/ui/\n", s.URL())
			printAdmin(g, s, &sf)
			select {
			case <-ctx.Done():
				fmt.Fprintln(g.stderr, "stopping")
			case err := <-s.Done():
				return err
			}
			return nil
		},
	}
	sf.register(cmd.Flags(), "127.0.0.1:7070")
	wf.register(cmd.Flags(), "local worker slots (0 for none)")
	return cmd
}
