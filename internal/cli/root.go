package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitBadInput = 2
	exitJobError = 3
	exitCanceled = 4
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(err error) error { return &exitError{exitBadInput, err} }

// globals are the flags every command shares.
type globals struct {
	servers   []string
	json      bool
	logLevel  string
	logFormat string
	stdout    io.Writer
	stderr    io.Writer
	// token is the API token (--token, MYRIAD_TOKEN, else the local
	// coordinator's admin token file); ca the extra CA (--ca, MYRIAD_CA)
	// and http the client that trusts it.
	token string
	ca    string
	http  *http.Client
}

func (g *globals) client() *client.Client {
	return client.New(g.server(), client.WithToken(g.token), client.WithHTTPClient(g.http))
}

// server is the coordinator URL, or several (replicas on one shared
// store) separated by commas, as client.New and worker.Config take them.
func (g *globals) server() string { return strings.Join(g.servers, ",") }

func (g *globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// Main runs the command line and returns the exit code.
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitFailure
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.Is(err, spec.ErrInvalid), isUsage(err):
		code = exitBadInput
	default:
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != 404 {
			code = exitBadInput
		}
	}
	if ee == nil || ee.err != errSilent {
		fmt.Fprintln(stderr, "myriad: "+indent(err.Error()))
	}
	return code
}

// errSilent ends a command with an exit code after it said why itself.
var errSilent = errors.New("")

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "myriad",
		Short:         "Microtasks for machines and people: split jobs, lease to workers, merge results",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("MYRIAD_SERVER")
	if def == "" {
		def = "http://127.0.0.1:7070"
	}
	pf := root.PersistentFlags()
	pf.StringSliceVar(&g.servers, "server", strings.Split(def, ","), "coordinator URL; repeat it or separate URLs with commas for replicas sharing one store (env MYRIAD_SERVER)")
	pf.BoolVar(&g.json, "json", false, "print JSON instead of text")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.token, "token", "", "API token (env MYRIAD_TOKEN; default, for a coordinator on this machine, the admin token in its data folder)")
	pf.StringVar(&g.ca, "ca", os.Getenv("MYRIAD_CA"), "PEM file of a CA to trust for https:// coordinators (env MYRIAD_CA)")
	root.AddCommand(
		upCmd(g), demoCmd(g), serverCmd(g), workerCmd(g), runCmd(g),
		submitCmd(g), statusCmd(g), resultsCmd(g), jobsCmd(g), cancelCmd(g), workersCmd(g),
		aggregateCmd(g), versionCmd(g),
		annotatorsCmd(g), answersCmd(g),
		tokensCmd(g),
		retryCmd(g),
		metricsCmd(g),
	)
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := g.checkLogFlags(); err != nil {
			return err
		}
		return g.setupAuth()
	}
	return root
}

// checkLogFlags refuses a --log-format or --log-level it does not know,
// rather than silently logging in another way.
func (g *globals) checkLogFlags() error {
	if g.logFormat != "text" && g.logFormat != "json" {
		return badInput(fmt.Errorf("--log-format: %q is neither text nor json", g.logFormat))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return badInput(fmt.Errorf("--log-level: %q is not debug, info, warn or error", g.logLevel))
	}
	return nil
}
