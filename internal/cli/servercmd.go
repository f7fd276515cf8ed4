package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func serverCmd(g *globals) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a coordinator alone (workers connect with myriad worker)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := sf.start(cmd.Context(), g.logger())
			if err != nil {
				return err
			}
			defer shutdown(s)
			fmt.Fprintf(g.stdout, "coordinator listening at %s (%s)\n", s.URL(), sf.where())
			printAdmin(g, s, &sf)
			select {
			case <-cmd.Context().Done():
			case err := <-s.Done():
				return err
			}
			return nil
		},
	}
	sf.register(cmd.Flags(), "127.0.0.1:7070")
	return cmd
}

func workerCmd(g *globals) *cobra.Command {
	var wf workerFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker that leases microtasks from a coordinator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := wf.worker(g.server(), g.token, g.http, g.logger())
			if err != nil {
				return err
			}
			return w.Run(cmd.Context())
		},
	}
	wf.register(cmd.Flags(), "microtasks run at once")
	return cmd
}
