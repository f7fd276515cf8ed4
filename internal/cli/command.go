package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// Command returns the myriad command tree — subcommands and their flags,
// with defaults taken from the environment as at start-up — without
// running anything. The deploy manifests' test checks the flags and
// environment variables they use against it.
func Command() *cobra.Command {
	return newRoot(&globals{stdout: io.Discard, stderr: io.Discard})
}
