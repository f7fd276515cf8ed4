package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// gate is an operator whose microtasks block until the gate opens.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) item(ctx context.Context, _ *worker.Task, it task.Item) (any, error) {
	select {
	case <-g.ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return json.RawMessage(it.Data), nil
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// readEvents parses an event stream into ch until it ends.
func readEvents(body *bufio.Reader, ch chan<- sseEvent) {
	defer close(ch)
	var ev sseEvent
	for {
		line, err := body.ReadBytes('\n')
		if err != nil {
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if ev.name != "" {
				ch <- ev
			}
			ev = sseEvent{}
		case bytes.HasPrefix(line, []byte("event: ")):
			ev.name = string(line[7:])
		case bytes.HasPrefix(line, []byte("data: ")):
			ev.data = append([]byte(nil), line[6:]...)
		}
	}
}

// nextEvent waits for an event named name that ok accepts.
func nextEvent(t *testing.T, ch <-chan sseEvent, name string, ok func([]byte) bool) []byte {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("the stream ended before a %s event came", name)
			}
			if ev.name == name && ok(ev.data) {
				return ev.data
			}
		case <-timeout:
			t.Fatalf("no %s event came", name)
		}
	}
}

// The event stream: a first full snapshot of the active jobs, the workers
// and the watched job; then changes as the job progresses, and the job's
// final status when it ends. Bad parameters are refused, and the stream
// ends when the server shuts down.
func TestEventStream(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	g := newGate()
	t.Cleanup(g.open)
	startWorker(t, b.url, 2, func(w *worker.Worker) { w.HandleItems("gate", g.item) })
	c := client.New(b.url, client.WithToken(testToken))
	id := submitJob(t, c, &spec.Job{Name: "gated", Input: spec.Input{Items: numbers(3)}, Stages: []spec.Stage{{Name: "g", Op: "gate"}}})

	for q, want := range map[string]int{"?interval_ms=x": 400, "?job=nope": 404, "?topics=jobs,bogus": 400} {
		resp, err := authGet(b.url + "/v1/events" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /v1/events%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	resp, err := authGet(b.url + "/v1/events?interval_ms=250&job=" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	ch := make(chan sseEvent, 64)
	go readEvents(bufio.NewReader(resp.Body), ch)

	var first server.JobsEvent
	json.Unmarshal(nextEvent(t, ch, "jobs", func([]byte) bool { return true }), &first)
	if !first.Full || len(first.Changed) != 1 || first.Changed[0].ID != id {
		t.Fatalf("first jobs event: %+v", first)
	}
	nextEvent(t, ch, "workers", func(d []byte) bool {
		var ws []task.Worker
		return json.Unmarshal(d, &ws) == nil && len(ws) == 1 && ws[0].Slots == 2 && ws[0].State == task.WorkerAlive
	})
	nextEvent(t, ch, "job", func(d []byte) bool {
		var st api.JobStatus
		return json.Unmarshal(d, &st) == nil && st.ID == id && st.Counts.Running == 2
	})
	// The coordinator keeps the job's done counts over time; a page that
	// opens now gets them first.
	for deadline := time.Now().Add(60 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("no throughput history for the running job")
		}
		if tp := firstThroughput(t, b.url, id); tp != nil && len(tp.T) > 0 && len(tp.T) == len(tp.Done) {
			break
		}
	}
	g.open()
	ended := nextEvent(t, ch, "jobs", func(d []byte) bool {
		var ev server.JobsEvent
		return json.Unmarshal(d, &ev) == nil && len(ev.Ended) == 1
	})
	var ev server.JobsEvent
	json.Unmarshal(ended, &ev)
	if ev.Full || ev.Ended[0].ID != id || ev.Ended[0].State != task.JobCompleted || ev.Ended[0].Counts.Done != 3 {
		t.Fatalf("jobs event at the end: %+v, ended %+v", ev, *ev.Ended[0])
	}
	nextEvent(t, ch, "job", func(d []byte) bool {
		var st api.JobStatus
		return json.Unmarshal(d, &st) == nil && st.State == task.JobCompleted
	})

	// One topic: only its events.
	wresp, err := authGet(b.url + "/v1/events?topics=workers")
	if err != nil {
		t.Fatal(err)
	}
	defer wresp.Body.Close()
	wch := make(chan sseEvent, 64)
	go readEvents(bufio.NewReader(wresp.Body), wch)
	if ev := <-wch; ev.name != "workers" {
		t.Fatalf("with topics=workers the first event is %q", ev.name)
	}

	done := make(chan struct{})
	go func() { b.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown waited for the event stream")
	}
	for range ch { // the streams end
	}
	for ev := range wch {
		if ev.name != "workers" {
			t.Errorf("with topics=workers: a %q event", ev.name)
		}
	}
}

// firstThroughput opens a job's stream and returns its throughput event,
// or nil if the first tick had none.
func firstThroughput(t *testing.T, url, id string) *server.Throughput {
	t.Helper()
	resp, err := authGet(url + "/v1/events?topics=job&job=" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ch := make(chan sseEvent, 8)
	go readEvents(bufio.NewReader(resp.Body), ch)
	for ev := range ch {
		switch ev.name {
		case "throughput":
			var tp server.Throughput
			if err := json.Unmarshal(ev.data, &tp); err != nil {
				t.Fatal(err)
			}
			return &tp
		case "job":
			return nil // the first tick ends with the job's status
		}
	}
	return nil
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := authGet(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the value of the metric of fam whose labels include want
// (-1 if there is none).
func value(fams map[string]*dto.MetricFamily, fam string, want map[string]string) float64 {
	f := fams[fam]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// pollMetric scrapes until the metric satisfies ok.
func pollMetric(t *testing.T, url, fam string, labels map[string]string, ok func(float64) bool) {
	t.Helper()
	var v float64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); <-tick.C {
		if v = value(scrape(t, url), fam, labels); ok(v) {
			return
		}
	}
	t.Fatalf("%s%v = %v, never as wanted", fam, labels, v)
}

// /metrics in the Prometheus format: microtasks by job, stage and state,
// workers and slots, queue depth and leadership (the names deploy/k8s
// uses), attempts and their durations per operator, lease expiries and
// retries after a worker vanishes, store transaction times, annotators.
func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{LeaseTTL: 500 * time.Millisecond}, "")
	g := newGate()
	t.Cleanup(g.open)
	startWorker(t, b.url, 2, func(w *worker.Worker) { w.HandleItems("gate", g.item) })
	c := client.New(b.url, client.WithToken(testToken))
	ctx := ctxT(t, time.Minute)
	if _, err := c.CreateAnnotator(ctx, api.AnnotatorCreate{Name: "ann"}); err != nil {
		t.Fatal(err)
	}
	id := submitJob(t, c, &spec.Job{Name: "gated", Input: spec.Input{Items: numbers(5)}, Stages: []spec.Stage{{Name: "g", Op: "gate"}}})
	running := map[string]string{"job": id, "stage": "g", "state": "running"}
	pollMetric(t, b.url, "myriad_microtasks", running, func(v float64) bool { return v == 2 })
	fams := scrape(t, b.url)
	for _, c := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{"myriad_microtasks", map[string]string{"job": id, "stage": "g", "state": "ready"}, 3},
		{"myriad_queue_depth", nil, 3},
		{"myriad_leader", nil, 1},
		{"myriad_jobs_active", nil, 1},
		{"myriad_workers", map[string]string{"state": "alive"}, 1},
		{"myriad_worker_slots", nil, 2},
		{"myriad_worker_slots_free", nil, 0},
		{"myriad_annotator_answers_total", map[string]string{"annotator": "ann"}, 0},
	} {
		if got := value(fams, c.fam, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.fam, c.labels, got, c.want)
		}
	}
	g.open()
	if _, err := c.Wait(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, b.url)
	done := map[string]string{"op": "gate", "outcome": "done"}
	if got := value(fams, "myriad_microtask_attempts_total", done); got != 5 {
		t.Errorf("attempts done = %v, want 5", got)
	}
	if got := value(fams, "myriad_microtask_duration_seconds", done); got != 5 {
		t.Errorf("duration samples = %v, want 5", got)
	}
	if got := value(fams, "myriad_store_tx_duration_seconds", map[string]string{"result": "ok"}); got < 1 {
		t.Errorf("store transactions = %v", got)
	}
	if got := value(fams, "myriad_microtasks", running); got != -1 {
		t.Errorf("an ended job's microtasks are still exported: %v", got)
	}

	// A worker that takes a microtask and vanishes: its lease expires and
	// the microtask is retried.
	ghost := api.WorkerInfo{ID: "ghost-1", Name: "ghost", Slots: 1, Ops: []string{"ghost"}}
	ghostSync := func(want int) *api.SyncResponse {
		body, _ := json.Marshal(api.SyncRequest{Worker: ghost, Seq: uint64(want + 1), Want: want})
		resp, err := authPost(b.url+"/v1/workers/sync", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out api.SyncResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	ghostSync(0)
	submitJob(t, c, &spec.Job{Name: "ghostly", Input: spec.Input{Items: numbers(1)}, Stages: []spec.Stage{{Name: "x", Op: "ghost"}}})
	if got := ghostSync(1); len(got.Leases) != 1 {
		t.Fatalf("the ghost got %d leases", len(got.Leases))
	}
	pollMetric(t, b.url, "myriad_lease_expiries_total", map[string]string{"reason": "worker_lost"}, func(v float64) bool { return v == 1 })
	fams = scrape(t, b.url)
	if got := value(fams, "myriad_retries_total", map[string]string{"op": "ghost"}); got != 1 {
		t.Errorf("retries = %v, want 1", got)
	}
	if got := value(fams, "myriad_workers", map[string]string{"state": "lost"}); got != 1 {
		t.Errorf("lost workers = %v, want 1", got)
	}
	var names []string
	for n := range fams {
		names = append(names, n)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "myriad_") && strings.HasSuffix(n, "_total") && fams[n].GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s ends in _total but is a %s", n, fams[n].GetType())
		}
	}
}
