package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/crowd"
)

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := "dev"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintln(g.stdout, "myriad", v)
		},
	}
}

func aggregateCmd(g *globals) *cobra.Command {
	var method, out string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "aggregate ANSWERS.csv",
		Short: "Aggregate redundant human answers (question,worker,answer CSV) into labels",
		Long: "Reads a question,worker,answer CSV and writes question,label,confidence.\n" +
			"Methods: ds (Dawid-Skene, default) or mv (majority vote).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := crowd.ParseMethod(method)
			if err != nil {
				return badInput(err)
			}
			in, err := os.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer in.Close()
			w := g.stdout
			if out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			_, err = crowd.AggregateCSV(context.Background(), in, w, crowd.AggregateOptions{Method: m, Seed: seed})
			if err != nil {
				return badInput(fmt.Errorf("%s: %w", args[0], err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&method, "method", "ds", "ds (Dawid-Skene) or mv (majority vote)")
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output CSV (- for stdout)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed for breaking ties")
	return cmd
}
