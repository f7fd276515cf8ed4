package server

import (
	"fmt"
	"io"
	"strconv"
)

// writeReadyToStart writes the coordinator's ready-to-start histogram
// (coord.Coordinator.ReadyToStart) in the Prometheus text format.
func (a *api0) writeReadyToStart(w io.Writer) {
	h := a.c.ReadyToStart()
	fmt.Fprint(w, "# HELP myriad_ready_to_start_seconds Time from a microtask becoming ready to its handler starting on a worker (first attempts).\n"+
		"# TYPE myriad_ready_to_start_seconds histogram\n")
	for i, b := range h.Bounds {
		fmt.Fprintf(w, "myriad_ready_to_start_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(b, 'g', -1, 64), h.Counts[i])
	}
	fmt.Fprintf(w, "myriad_ready_to_start_seconds_bucket{le=\"+Inf\"} %d\n", h.Count)
	fmt.Fprintf(w, "myriad_ready_to_start_seconds_sum %g\nmyriad_ready_to_start_seconds_count %d\n", h.Sum, h.Count)
}
