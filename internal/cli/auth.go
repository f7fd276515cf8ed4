package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/server"
)

// setupAuth settles the token and the HTTP client every command uses.
func (g *globals) setupAuth() error {
	hc, err := client.TLSClient(g.ca)
	if err != nil {
		return badInput(err)
	}
	g.http = hc
	if g.token == "" {
		g.token = os.Getenv(client.TokenEnv)
	}
	if g.token == "" && g.allLoopback() {
		// `myriad up` in another terminal: its admin token is in the
		// data folder, readable by the same user only. It is never sent
		// to a coordinator on another machine.
		if b, err := os.ReadFile(filepath.Join(defaultDataDir(), server.AdminTokenFile)); err == nil {
			g.token = strings.TrimSpace(string(b))
		}
	}
	return nil
}

func (g *globals) allLoopback() bool {
	for _, s := range g.servers {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || !server.IsLoopback(u.Host) {
			return false
		}
	}
	return len(g.servers) > 0
}

// printAdmin tells the user where the coordinator's admin token is.
func printAdmin(g *globals, s *server.Server, sf *serverFlags) {
	switch {
	case sf.sec.noAuth:
		fmt.Fprintln(g.stderr, "  authentication is OFF (--no-auth): anyone on this machine can use the API")
	case s.AdminToken() == "":
		fmt.Fprintln(g.stderr, "  no bootstrap admin token (it was revoked); use an admin token made with `myriad tokens create`")
	case os.Getenv("MYRIAD_ADMIN_TOKEN") != "" || sf.store != "" && sf.data == "":
		fmt.Fprintln(g.stderr, "  admin token: the one in MYRIAD_ADMIN_TOKEN")
	case !server.IsLoopback(sf.listen):
		// Not printed where logs may be collected and read by others.
		fmt.Fprintf(g.stderr, "  admin token: in %s (keep it secret)\n", filepath.Join(sf.data, server.AdminTokenFile))
	default:
		path := filepath.Join(sf.data, server.AdminTokenFile)
		fmt.Fprintf(g.stderr, "  admin token (keep it secret; also in %s):\n    export MYRIAD_TOKEN=%s\n", path, s.AdminToken())
	}
}

// localClient is the HTTP client the embedded worker and client of up
// and run use: it trusts the server's own certificate under TLS.
func localClient(s *server.Server, sf *serverFlags) *http.Client {
	hc, err := client.TLSClient(sf.sec.tlsCert)
	if err != nil {
		return nil
	}
	return hc
}
