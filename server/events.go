package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/task"
)

// Event stream tuning.
const (
	defaultEventEvery = time.Second
	minEventEvery     = 250 * time.Millisecond
	eventKeepAlive    = 15 * time.Second
	// maxEndedPerTick bounds the final statuses (a store read each) sent
	// in one tick; past it the client is told to reload the list.
	maxEndedPerTick = 50
)

// JobsEvent is the data of a "jobs" event of GET /v1/events: the active
// jobs whose status changed since the last event (all of them when Full),
// and the final status of those that ended.
type JobsEvent struct {
	Full    bool             `json:"full,omitempty"`
	Changed []*api.JobStatus `json:"changed"`
	Ended   []*api.JobStatus `json:"ended"`
	// Resync: more jobs ended than one event carries; reload the list.
	Resync bool      `json:"resync,omitempty"`
	Time   time.Time `json:"time"`
}

// events streams server-sent events for the dashboard: "jobs" (deltas of
// the active jobs, see JobsEvent), "workers" (the workers list, when it
// changed) and, with ?job=ID, "job" (that job's full status, when it
// changed, after a first "throughput" event with the job's history of
// done counts); ?topics=jobs,workers,job picks some (default all). Events are
// sent at most every interval_ms (default 1000), so the cost per viewer
// is bounded however busy the coordinator is.
func (a *api0) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	every := defaultEventEvery
	if v := q.Get("interval_ms"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			writeError(w, r, fmt.Errorf("interval_ms: %q is not a count of milliseconds: %w", v, errBadRequest))
			return
		}
		every = max(time.Duration(ms)*time.Millisecond, minEventEvery)
	}
	topics := map[string]bool{"jobs": true, "workers": true, "job": true}
	if v := q.Get("topics"); v != "" {
		topics = map[string]bool{}
		for _, t := range strings.Split(v, ",") {
			switch t {
			case "jobs", "workers", "job":
				topics[t] = true
			default:
				writeError(w, r, fmt.Errorf("topics: unknown topic %q (want jobs, workers or job): %w", t, errBadRequest))
				return
			}
		}
	}
	jobID := q.Get("job")
	if !topics["job"] {
		jobID = ""
	}
	if jobID != "" {
		if _, err := a.c.Job(r.Context(), jobID); err != nil {
			writeError(w, r, err)
			return
		}
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 3000\n\n")

	s := &eventState{a: a, r: r, jobID: jobID, jobs: topics["jobs"], workers: topics["workers"], sent: map[string]string{}}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastWrite := time.Now()
	for first := true; ; first = false {
		n, err := s.emit(w, first)
		if err == nil && n == 0 && time.Since(lastWrite) > eventKeepAlive {
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
			n = 1
		}
		if err == nil && n > 0 {
			lastWrite = time.Now()
			err = rc.Flush()
		}
		if err != nil {
			return // the client went away
		}
		select {
		case <-r.Context().Done():
			return
		case <-a.c.Stopped():
			return
		case <-tick.C:
		}
	}
}

// eventState is what one stream has sent, to send only changes.
type eventState struct {
	a       *api0
	r       *http.Request
	jobID   string
	jobs    bool              // send "jobs" events
	workers bool              // send "workers" events
	sent    map[string]string // active job id -> fingerprint
	lastWs  []byte
	job     []byte
	// jobWasActive: the watched job was active at the last tick, so one
	// more read catches its final status.
	jobWasActive bool
}

// emit writes the events due now and reports how many it wrote.
func (s *eventState) emit(w http.ResponseWriter, full bool) (int, error) {
	n := 0
	active := s.a.c.ActiveJobs()
	now := make(map[string]string, len(active))
	for _, st := range active {
		now[st.ID] = fingerprint(st)
	}
	var ended []*api.JobStatus
	if s.jobs {
		ev := JobsEvent{Full: full, Changed: []*api.JobStatus{}, Ended: []*api.JobStatus{}, Time: time.Now().UTC()}
		for _, st := range active {
			if full || s.sent[st.ID] != now[st.ID] {
				ev.Changed = append(ev.Changed, st)
			}
		}
		for id := range s.sent {
			if _, ok := now[id]; ok {
				continue
			}
			if len(ev.Ended) == maxEndedPerTick {
				ev.Resync = true
				break
			}
			st, err := s.a.c.Job(s.r.Context(), id)
			if err != nil {
				continue // deleted or the store failed: the next reload shows it
			}
			if !st.State.Final() {
				// It left the active set but its final state is not
				// readable yet (the commit that ends it is in flight):
				// look again next tick rather than send a stale status.
				now[id] = s.sent[id]
				continue
			}
			ev.Ended = append(ev.Ended, st)
		}
		s.sent, ended = now, ev.Ended
		if full || len(ev.Changed) > 0 || len(ev.Ended) > 0 || ev.Resync {
			if err := writeEvent(w, "jobs", ev); err != nil {
				return n, err
			}
			n++
		}
	}
	if s.workers {
		ws := slices.DeleteFunc(s.a.c.Workers(), func(w task.Worker) bool { return w.ID == human.WorkerID })
		if b, err := json.Marshal(ws); err == nil && (full || !bytes.Equal(b, s.lastWs)) {
			s.lastWs = b
			if err := writeRaw(w, "workers", b); err != nil {
				return n, err
			}
			n++
		}
	}
	if s.jobID != "" && full {
		if tp := s.a.tp.get(s.jobID); tp != nil {
			if err := writeEvent(w, "throughput", tp); err != nil {
				return n, err
			}
			n++
		}
	}
	if s.jobID != "" {
		// A job's full status costs a store read once it has ended: read
		// it while it runs, and once more when it ends (or reopens).
		_, activeNow := now[s.jobID]
		if full || activeNow || s.jobWasActive || endedNow(ended, s.jobID) {
			s.jobWasActive = activeNow
			st, err := s.a.c.Job(s.r.Context(), s.jobID)
			if err == nil {
				err = s.a.addHuman(s.r, st)
			}
			if err == nil {
				b, _ := json.Marshal(st)
				if !bytes.Equal(b, s.job) {
					s.job = b
					if err := writeRaw(w, "job", b); err != nil {
						return n, err
					}
					n++
				}
			}
		}
	}
	return n, nil
}

func endedNow(ended []*api.JobStatus, id string) bool {
	for _, st := range ended {
		if st.ID == id {
			return true
		}
	}
	return false
}

// fingerprint changes when what the dashboard shows of a job changes.
func fingerprint(st *api.JobStatus) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s|%v|%.1f|", st.State, st.Counts, st.Rate)
	if st.ETA != nil {
		fmt.Fprintf(&b, "%.0f|%v|", st.ETA.RemainingS, st.ETA.Known)
	}
	for _, s := range st.Stages {
		fmt.Fprintf(&b, "%s%d;", s.State, s.Expected)
	}
	return b.String()
}

func writeEvent(w http.ResponseWriter, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRaw(w, name, b)
}

func writeRaw(w http.ResponseWriter, name string, data []byte) error {
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	return err
}
