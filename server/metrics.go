package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/task"
)

// metrics is what GET /metrics serves: counters and histograms fed by the
// coordinator's hooks as it works, and gauges read from its memory at
// scrape time (see docs/observability.md for each name).
type metrics struct {
	reg      *prometheus.Registry
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	expiries *prometheus.CounterVec
	retries  *prometheus.CounterVec
	revived  prometheus.Counter
	storeTx  *prometheus.HistogramVec
	handler  http.Handler

	c *coord.Coordinator
	h *human.Service
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "myriad_microtask_attempts_total",
		Help: "Attempts of microtasks that ended, by operator and outcome (done, failed: to be retried, dead: out of attempts).",
	}, []string{"op", "outcome"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "myriad_microtask_duration_seconds",
		Help:    "Time of a microtask attempt from lease to commit, by operator and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 11), // 1 ms .. ~17 min
	}, []string{"op", "outcome"})
	m.expiries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "myriad_lease_expiries_total",
		Help: "Leases given up: worker_lost (the worker went silent) or timeout (past the stage's timeout).",
	}, []string{"reason"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "myriad_retries_total",
		Help: "Failed microtask attempts scheduled to run again after a backoff, by operator.",
	}, []string{"op"})
	m.revived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "myriad_revived_total",
		Help: "Dead microtasks put back in the queue by POST /v1/jobs/{id}/retry.",
	})
	m.storeTx = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "myriad_store_tx_duration_seconds",
		Help:    "Time of the coordinator's write transactions (a batch of requests each), by result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 0.1 ms .. 26 s
	}, []string{"result"})
	m.reg.MustRegister(m.finished, m.duration, m.expiries, m.retries, m.revived, m.storeTx, (*gauges)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// hooks feeds the counters and histograms.
func (m *metrics) hooks(next coord.Hooks) coord.Hooks {
	return coord.Hooks{
		TaskFinished: func(op string, state task.State, d time.Duration) {
			m.finished.WithLabelValues(op, state.String()).Inc()
			m.duration.WithLabelValues(op, state.String()).Observe(d.Seconds())
			if next.TaskFinished != nil {
				next.TaskFinished(op, state, d)
			}
		},
		LeaseExpired: func(reason string) {
			m.expiries.WithLabelValues(reason).Inc()
			if next.LeaseExpired != nil {
				next.LeaseExpired(reason)
			}
		},
		Retried: func(op string) {
			m.retries.WithLabelValues(op).Inc()
			if next.Retried != nil {
				next.Retried(op)
			}
		},
		Revived: func(n int64) {
			m.revived.Add(float64(n))
			if next.Revived != nil {
				next.Revived(n)
			}
		},
		StoreTx: func(d time.Duration, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			m.storeTx.WithLabelValues(result).Observe(d.Seconds())
			if next.StoreTx != nil {
				next.StoreTx(d, err)
			}
		},
	}
}

// gauges reads the coordinator's and the human service's state at
// scrape time.
type gauges metrics

var (
	descQueue = prometheus.NewDesc("myriad_queue_depth",
		"Microtasks ready to run and not yet leased, over all active jobs.", nil, nil)
	descLeader = prometheus.NewDesc("myriad_leader",
		"1 if this coordinator runs the duties that must run once (lease expiry, retries).", nil, nil)
	descJobs = prometheus.NewDesc("myriad_jobs_active",
		"Jobs running on this coordinator.", nil, nil)
	descTasks = prometheus.NewDesc("myriad_microtasks",
		"Microtasks of the active jobs by job, stage and state (pending counts items buffered for a stage).", []string{"job", "stage", "state"}, nil)
	descWorkers = prometheus.NewDesc("myriad_workers",
		"Workers by state (alive, draining, lost).", []string{"state"}, nil)
	descSlots = prometheus.NewDesc("myriad_worker_slots",
		"Slots of the workers that are alive.", nil, nil)
	descFree = prometheus.NewDesc("myriad_worker_slots_free",
		"Slots of the alive workers that hold no lease.", nil, nil)
	descAnswers = prometheus.NewDesc("myriad_annotator_answers_total",
		"Answers given by each annotator.", []string{"annotator"}, nil)
	descPaused = prometheus.NewDesc("myriad_annotators_paused",
		"Annotators paused by an operator or by their gold accuracy.", nil, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descLeader, descJobs, descTasks, descWorkers, descSlots, descFree, descAnswers, descPaused} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	c := g.c
	if c == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	leader := 0.0
	if c.Leading() {
		leader = 1
	}
	gauge(descQueue, float64(c.QueueDepth()))
	gauge(descLeader, leader)
	jobs := c.ActiveJobs()
	gauge(descJobs, float64(len(jobs)))
	for _, j := range jobs {
		for _, s := range j.Stages {
			n := s.Counts
			for _, kv := range []struct {
				state string
				v     int64
			}{{"pending", n.Pending}, {"ready", n.Ready}, {"running", n.Running}, {"done", n.Done},
				{"failed", n.Failed}, {"dead", n.Dead}, {"canceled", n.Canceled}} {
				gauge(descTasks, float64(kv.v), j.ID, s.Name, kv.state)
			}
		}
	}
	byState := map[string]float64{task.WorkerAlive: 0, task.WorkerDraining: 0, task.WorkerLost: 0}
	var slots, free float64
	for _, w := range c.Workers() {
		if w.ID == human.WorkerID {
			continue
		}
		byState[w.State]++
		if w.State == task.WorkerAlive {
			slots += float64(w.Slots)
			free += float64(max(w.Slots-w.Running, 0))
		}
	}
	for st, n := range byState {
		gauge(descWorkers, n, st)
	}
	gauge(descSlots, slots)
	gauge(descFree, free)
	if g.h != nil {
		paused := 0.0
		for _, a := range g.h.Annotators() {
			ch <- prometheus.MustNewConstMetric(descAnswers, prometheus.CounterValue, float64(a.Answers), a.Name)
			if a.Paused {
				paused++
			}
		}
		gauge(descPaused, paused)
	}
}

// metrics serves GET /metrics. The names myriad_queue_depth (what
// deploy/k8s/hpa.yaml scales workers on) and myriad_leader must stay;
// deploy/manifests_test.go checks them.
func (a *api0) metrics(w http.ResponseWriter, r *http.Request) {
	a.m.handler.ServeHTTP(w, r)
}
