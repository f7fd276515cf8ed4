// Command myriad is the single binary: coordinator, worker, and CLI.
package main

import (
	"os"

	"github.com/myriadhq/myriad/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
