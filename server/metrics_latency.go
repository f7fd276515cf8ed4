package server

import "github.com/prometheus/client_golang/prometheus"

// readyToStart exports the coordinator's ready-to-start histogram
// (coord.Coordinator.ReadyToStart), read at scrape time; bench/compare
// reads its quantiles.
type readyToStart metrics

var descReadyToStart = prometheus.NewDesc("myriad_ready_to_start_seconds",
	"Time from a microtask becoming ready to its handler starting on a worker (first attempts).", nil, nil)

func (r *readyToStart) Describe(ch chan<- *prometheus.Desc) { ch <- descReadyToStart }

func (r *readyToStart) Collect(ch chan<- prometheus.Metric) {
	if r.c == nil {
		return
	}
	h := r.c.ReadyToStart()
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(descReadyToStart, h.Count, h.Sum, buckets)
}
