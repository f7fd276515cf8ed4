package worker

import (
	"strings"
)

// syncURLs turns Config.Server ("http://a:7070" or
// "http://a:7070,http://b:7070") into the coordinators' sync endpoints.
func syncURLs(server string) []string {
	var out []string
	for _, s := range strings.Split(server, ",") {
		if s = strings.TrimRight(strings.TrimSpace(s), "/"); s != "" {
			out = append(out, s+"/v1/workers/sync")
		}
	}
	if len(out) == 0 {
		out = []string{"/v1/workers/sync"} // New rejects an empty Server; keep send well-defined
	}
	return out
}

// failover moves to the next coordinator after a failed round trip. It
// reports true if there is another one to try at once, false when every
// coordinator has been tried since the last success (time to back off).
// Reports and leases carry over: any coordinator on the same store checks
// them against the store.
func (w *Worker) failover() bool {
	if len(w.urls) < 2 {
		return false
	}
	w.cur = (w.cur + 1) % len(w.urls)
	w.failed++
	if w.failed >= len(w.urls) {
		w.failed = 0
		return false
	}
	return true
}
