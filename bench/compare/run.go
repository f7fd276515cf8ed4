package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// row is one figure of the table. Peer is NaN-free: hasPeer says whether
// the peer's figure exists.
type row struct {
	figure  string
	myriad  float64
	unit    string
	peer    float64
	peerBy  string // the peer's name, "" if none
	hasPeer bool
	target  string
	met     string // "yes", "no" or "" when there is no target
	note    string
}

func (r row) ratio() (float64, bool) {
	if !r.hasPeer || r.peer == 0 {
		return 0, false
	}
	return r.myriad / r.peer, true
}

// run measures the scenarios cfg selects and returns the table's rows; on
// an error it returns the rows measured so far with it.
func run(ctx context.Context, cfg *config) ([]row, error) {
	var rows []row
	var errs []error
	fail := func(what string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", what, err))
	}
	say := cfg.progress
	if say == nil {
		say = func(string, ...any) {}
	}
	wantDask := cfg.peers && haveDask()
	wantParallel := cfg.peers && haveParallel()
	if cfg.peers {
		cfg.dask, cfg.parallel = wantDask, wantParallel
	}
	wantDask, wantParallel = cfg.dask, cfg.parallel
	if cfg.peers && !wantDask {
		say("Dask distributed is missing (/usr/bin/python3 cannot import distributed); its column stays empty")
	}
	if cfg.peers && !wantParallel {
		say("GNU parallel is missing; its column stays empty")
	}
	yesNo := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}

	if cfg.scenarios["noop"] {
		say("no-op: myriad, %d microtasks, %d workers × %d slots", cfg.noopN, cfg.workers, cfg.slots)
		r := row{figure: fmt.Sprintf("no-op throughput (%d)", cfg.noopN), unit: "/s", target: "≥ 50× Dask"}
		m, err := myriadNoop(ctx, cfg)
		if err != nil {
			fail("no-op myriad", err)
		}
		r.myriad = m
		if wantDask && err == nil {
			say("no-op: Dask")
			d, err := daskNoop(ctx, cfg)
			if err != nil {
				fail("no-op dask", err)
			} else {
				r.peer, r.peerBy, r.hasPeer = d, "Dask", true
				r.met = yesNo(m/d >= 50)
			}
		}
		if err == nil {
			rows = append(rows, r)
		}
	}

	if cfg.scenarios["sleep"] {
		ideal := time.Duration(cfg.sleepN) * time.Duration(cfg.sleepMS) * time.Millisecond / time.Duration(cfg.parSlots)
		say("efficiency: myriad, %d × %d ms on %d slots (ideal %v)", cfg.sleepN, cfg.sleepMS, cfg.parSlots, ideal)
		r := row{figure: fmt.Sprintf("parallel efficiency (%d × %d ms, %d slots)", cfg.sleepN, cfg.sleepMS, cfg.parSlots), target: "≥ 0.95"}
		m, err := myriadSleep(ctx, cfg)
		if err != nil {
			fail("efficiency myriad", err)
		} else {
			r.myriad = ideal.Seconds() / m.Seconds()
			r.met = yesNo(r.myriad >= 0.95)
			r.note = fmt.Sprintf("makespan %.2fs, ideal %.2fs", m.Seconds(), ideal.Seconds())
			// The same with tᵢ as a sleep of sleepMS really lasts on this
			// machine now (timer slack grows with load).
			ti := measuredSleep(time.Duration(cfg.sleepMS)*time.Millisecond, cfg.parSlots, 25)
			idealT := ti * time.Duration(cfg.sleepN) / time.Duration(cfg.parSlots)
			rt := row{figure: fmt.Sprintf("  same, tᵢ measured (%.2f ms)", ms(ti)), myriad: idealT.Seconds() / m.Seconds(),
				note: "Σtᵢ from sleeps timed in this process"}
			if wantDask {
				say("efficiency: Dask")
				d, err := daskSleep(ctx, cfg)
				if err != nil {
					fail("efficiency dask", err)
				} else {
					r.peer, r.peerBy, r.hasPeer = ideal.Seconds()/d.Seconds(), "Dask", true
					rt.peer, rt.peerBy, rt.hasPeer = idealT.Seconds()/d.Seconds(), "Dask", true
					r.note += fmt.Sprintf("; Dask %.2fs", d.Seconds())
				}
			}
			rows = append(rows, r, rt)
		}
	}

	if cfg.scenarios["exec"] {
		say("exec: myriad, %d × true on %d slots", cfg.execN, cfg.parSlots)
		r := row{figure: fmt.Sprintf("exec overhead (%d × true, %d at once)", cfg.execN, cfg.parSlots), unit: "ms/cmd", target: "≤ GNU parallel"}
		m, err := myriadExec(ctx, cfg)
		if err != nil {
			fail("exec myriad", err)
		} else {
			r.myriad = m.Seconds() * 1000 / float64(cfg.execN)
			if wantParallel {
				say("exec: GNU parallel")
				p, err := gnuParallel(ctx, cfg.execN, cfg.parSlots)
				if err != nil {
					fail("exec parallel", err)
				} else {
					r.peer, r.peerBy, r.hasPeer = p.Seconds()*1000/float64(cfg.execN), "GNU parallel", true
					r.met = yesNo(r.myriad <= r.peer)
				}
			}
			rows = append(rows, r)
		}
	}

	if cfg.scenarios["scale"] {
		say("scale: myriad, %d microtasks, then a drain of up to %v", cfg.scaleN, cfg.drain)
		s, err := myriadScale(ctx, cfg)
		if err != nil {
			fail("scale myriad", err)
		} else {
			rows = append(rows,
				row{figure: fmt.Sprintf("scale: accept %d", cfg.scaleN), myriad: s.accept.Seconds(), unit: "s", target: "< 30 s", met: yesNo(s.accept < 30*time.Second)},
				row{figure: "scale: coordinator peak RSS", myriad: float64(s.rssPeak) / (1 << 20), unit: "MiB", target: "< 1024 MiB", met: yesNo(s.rssPeak < 1<<30),
					note: fmt.Sprintf("%.0f MiB once accepted", float64(s.rssAccept)/(1<<20))},
				row{figure: "scale: drain throughput", myriad: s.drainRate, unit: "/s", note: fmt.Sprintf("%d done in the window", s.drained)},
			)
		}
	}

	if cfg.scenarios["latency"] {
		say("latency: myriad, %d one-microtask jobs on an idle worker", cfg.latencyN)
		p50, p99, err := myriadLatency(ctx, cfg)
		if err != nil {
			fail("latency myriad", err)
		} else {
			r50 := row{figure: "ready-to-start p50", myriad: ms(p50), unit: "ms"}
			r99 := row{figure: "ready-to-start p99", myriad: ms(p99), unit: "ms", target: "< 20 ms", met: yesNo(p99 < 20*time.Millisecond)}
			if wantDask {
				say("latency: Dask")
				d50, d99, err := daskLatency(ctx, cfg)
				if err != nil {
					fail("latency dask", err)
				} else {
					r50.peer, r50.peerBy, r50.hasPeer = ms(d50), "Dask", true
					r99.peer, r99.peerBy, r99.hasPeer = ms(d99), "Dask", true
					r50.note = "Dask: submit → start"
				}
			}
			rows = append(rows, r50, r99)
		}
	}
	return rows, errors.Join(errs...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measuredSleep is the mean time a sleep of d takes when c goroutines
// sleep k times each at once.
func measuredSleep(d time.Duration, c, k int) time.Duration {
	var wg sync.WaitGroup
	total := make([]time.Duration, c)
	for g := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range k {
				t := time.Now()
				time.Sleep(d)
				total[g] += time.Since(t)
			}
		}()
	}
	wg.Wait()
	var sum time.Duration
	for _, t := range total {
		sum += t
	}
	return sum / time.Duration(c*k)
}
