package server

import (
	"fmt"
	"net/http"
)

// metrics serves the gauges worker autoscaling needs, in the Prometheus
// text format: myriad_queue_depth (what deploy/k8s/hpa.yaml scales on)
// and myriad_leader. The full set of metrics (issue 8) must keep these
// two names; deploy/manifests_test.go checks that the name the manifests
// use is served here.
func (a *api0) metrics(w http.ResponseWriter, r *http.Request) {
	leader := 0
	if a.c.Leading() {
		leader = 1
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP myriad_queue_depth Microtasks ready to run and not yet leased, over all active jobs.\n"+
		"# TYPE myriad_queue_depth gauge\nmyriad_queue_depth %d\n"+
		"# HELP myriad_leader 1 if this coordinator runs the duties that must run once (lease expiry, retries).\n"+
		"# TYPE myriad_leader gauge\nmyriad_leader %d\n", a.c.QueueDepth(), leader)
	a.writeReadyToStart(w)
}
