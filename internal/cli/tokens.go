package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// tokensCmd manages API tokens (admin).
func tokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Manage API tokens: create (shown once), list, revoke",
	}
	cmd.AddCommand(tokensCreateCmd(g), tokensListCmd(g), tokensRevokeCmd(g))
	return cmd
}

func tokensCreateCmd(g *globals) *cobra.Command {
	var role, name string
	cmd := &cobra.Command{
		Use:   "create --role ROLE [--name NAME]",
		Short: "Create an API token and print it (shown only now; only its hash is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			t, err := c.CreateToken(cmd.Context(), role, name)
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, t)
				return nil
			}
			fmt.Fprintln(g.stdout, t.Secret)
			fmt.Fprintf(g.stderr, "token %s (%s) created: give it as --token or MYRIAD_TOKEN; it is shown only now\n", t.ID, t.Role)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "admin, submitter, worker or viewer (annotators get invite links from `myriad annotators add`)")
	cmd.Flags().StringVar(&name, "name", "", "a label for the token")
	cmd.MarkFlagRequired("role")
	return cmd
}

func tokensListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			list, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				printJSON(g.stdout, list)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED\tREVOKED")
			for _, t := range list {
				rev := "-"
				if t.RevokedAt != nil {
					rev = t.RevokedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Name, t.CreatedAt.Local().Format(time.DateTime), rev)
			}
			return tw.Flush()
		},
	}
}

func tokensRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token: it authenticates nothing from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "token %s revoked\n", args[0])
			return nil
		},
	}
}
