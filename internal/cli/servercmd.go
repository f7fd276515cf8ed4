package cli

import (
	"fmt"
	"os"
	"strings"

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
	var supervise bool
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker that leases microtasks from a coordinator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if supervise {
				return superviseWorker(cmd.Context(), withoutFlag(os.Args[1:], "supervise"), g.token, g.http, g.logger())
			}
			w, err := wf.worker(g.server(), g.token, g.http, g.logger())
			if err != nil {
				return err
			}
			return w.Run(cmd.Context())
		},
	}
	wf.register(cmd.Flags(), "microtasks run at once")
	cmd.Flags().BoolVar(&supervise, "supervise", false, "run the worker as a child process: when it crashes, report its microtasks failed at once with its exit status and last stderr lines, and start it again")
	return cmd
}

// withoutFlag is args without --name / --name=value (a bool flag).
func withoutFlag(args []string, name string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			continue
		}
		out = append(out, a)
	}
	return out
}
