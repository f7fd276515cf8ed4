package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/crowd"
)

// Member is one simulated annotator: its invite token and its behaviour.
type Member struct {
	Token     string
	Annotator crowd.Annotator
}

// Answerer decides a member's answer to a task; ok false skips it. The
// task carries only what a person would see.
type Answerer func(m *Member, t api.AnnotateTask) (label string, ok bool)

// Modelled answers with a crowd.Simulator: truth maps what the task shows
// to the item's key and true label (ok false: the member skips it).
func Modelled(s *crowd.Simulator, truth func(t api.AnnotateTask) (item, label string, ok bool)) Answerer {
	return func(m *Member, t api.AnnotateTask) (string, bool) {
		item, label, ok := truth(t)
		if !ok {
			return "", false
		}
		a, err := s.Answer(&m.Annotator, item, label)
		if err != nil {
			return "", false
		}
		return a.Label, true
	}
}

// Crowd drives members through the annotator API until the job ends, ctx
// ends or (with no Job) nobody gets work for Idle.
type Crowd struct {
	// URL is the coordinator's base URL.
	URL string
	// Token is an API token that may read Job (to stop when it ends).
	Token   string
	Members []Member
	Answer  Answerer
	// Job, if set, is watched: the crowd stops when it has ended.
	Job string
	// Stage limits the members to one stage ("" for any).
	Stage string
	// Speed scales the simulated answer times (crowd.Annotator's
	// MedianTime and TimeSpread); 0 answers at once.
	Speed float64
	// Want is how many items a member holds (the one on screen and the
	// prefetched); default 2.
	Want int
	// Idle stops a crowd without Job once no member got work for this
	// long; default 2s.
	Idle time.Duration
	// HTTP is the client used by every member; default a pooled one.
	HTTP *http.Client
	// Record, if set, receives every raw response body.
	Record func(member int, path string, body []byte)
}

// Report sums up a run.
type Report struct {
	Answers, Skips, Conflicts int
	// Limited counts requests answered 429 (rate limited) and sent again
	// after Retry-After.
	Limited int
	// NextLatency holds the time of every round trip that handed out the
	// next task without waiting, after each member's first: answer-and-next
	// and plain next (a wait out of a 429 included).
	NextLatency []time.Duration
	// FirstLatency holds each member's first request for work: when all
	// start at once it measures that rush, not the steady state.
	FirstLatency []time.Duration
	Elapsed      time.Duration
}

// Percentile returns the p-th percentile (0..100) of NextLatency.
func (r *Report) Percentile(p float64) time.Duration { return percentile(r.NextLatency, p) }

// FirstPercentile returns the p-th percentile (0..100) of FirstLatency.
func (r *Report) FirstPercentile(p float64) time.Duration { return percentile(r.FirstLatency, p) }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// Run drives the crowd and reports what it did.
func (c *Crowd) Run(ctx context.Context) (*Report, error) {
	if c.Answer == nil {
		return nil, errors.New("sim: Crowd.Answer is required")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(c.Members) + 4}}
	}
	want := c.Want
	if want == 0 {
		want = 2
	}
	idle := c.Idle
	if idle == 0 {
		idle = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	if c.Job != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := client.New(c.URL, client.WithHTTPClient(hc), client.WithToken(c.Token)).Wait(ctx, c.Job, nil)
			switch {
			case err == nil && st.State.Final():
				cancel()
			case err != nil && ctx.Err() == nil:
				// Without the job's state the crowd would answer on
				// until its context ends (e.g. a missing Token): say so.
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("watch job %s: %w", c.Job, err)
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	start := time.Now()
	rep := &Report{}
	lastWork := time.Now()
	for i := range c.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &c.Members[i]
			cl := NewClient(c.URL, m.Token, hc)
			if c.Record != nil {
				cl.Record = func(path string, body []byte) { c.Record(i, path, body) }
			}
			local := &Report{}
			err := c.member(ctx, cl, m, want, local, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return c.Job == "" && time.Since(lastWork) > idle
			}, func() {
				mu.Lock()
				lastWork = time.Now()
				mu.Unlock()
			})
			mu.Lock()
			rep.Answers += local.Answers
			rep.Skips += local.Skips
			rep.Conflicts += local.Conflicts
			rep.Limited += cl.Limited()
			rep.NextLatency = append(rep.NextLatency, local.NextLatency...)
			rep.FirstLatency = append(rep.FirstLatency, local.FirstLatency...)
			if err != nil && firstErr == nil && ctx.Err() == nil {
				firstErr = fmt.Errorf("member %d: %w", i, err)
				cancel()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	return rep, firstErr
}

// member is one simulated annotator's loop: take the first held task,
// look at it for the simulated time, answer or skip it, and get the next
// in the same round trip.
func (c *Crowd) member(ctx context.Context, cl *Client, m *Member, want int, rep *Report, stop func() bool, worked func()) error {
	timed := func(f func() (*api.TasksResponse, error)) (*api.TasksResponse, error) {
		t0 := time.Now()
		r, err := f()
		if err == nil && len(r.Tasks) > 0 {
			rep.NextLatency = append(rep.NextLatency, time.Since(t0))
		}
		return r, err
	}
	t0 := time.Now()
	resp, err := cl.Next(ctx, api.NextRequest{Stage: c.Stage, Want: want})
	if err == nil && len(resp.Tasks) > 0 {
		rep.FirstLatency = append(rep.FirstLatency, time.Since(t0))
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if s := Status(err); s == http.StatusConflict || s == http.StatusNotFound {
				rep.Conflicts++
				resp, err = cl.Next(ctx, api.NextRequest{Stage: c.Stage, Want: want})
				continue
			}
			return err
		}
		if len(resp.Tasks) == 0 {
			if stop() {
				return nil
			}
			resp, err = cl.Next(ctx, api.NextRequest{Stage: c.Stage, Want: want, WaitMS: 250})
			continue
		}
		worked()
		t := resp.Tasks[0]
		label, ok := c.Answer(m, t)
		if !ok {
			rep.Skips++
			resp, err = timed(func() (*api.TasksResponse, error) { return cl.Skip(ctx, t.ID, want) })
			continue
		}
		if d := c.think(m); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil
			}
		}
		resp, err = timed(func() (*api.TasksResponse, error) {
			return cl.Answer(ctx, t.ID, api.AnswerRequest{Label: label, Next: want})
		})
		if err == nil {
			rep.Answers++
		}
	}
}

// think is how long the member looks at an item: log-normal around its
// MedianTime, scaled by Speed.
func (c *Crowd) think(m *Member) time.Duration {
	if c.Speed <= 0 || m.Annotator.MedianTime <= 0 {
		return 0
	}
	f := math.Exp(m.Annotator.TimeSpread * rand.NormFloat64())
	return time.Duration(float64(m.Annotator.MedianTime) * f * c.Speed)
}
