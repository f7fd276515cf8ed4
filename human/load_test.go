package human_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/myriadhq/myriad/crowd"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/human/sim"
)

// BenchmarkAnnotators500 runs 500 simulated annotators on loopback
// against one coordinator and reports the latency of the round trips that
// hand out the next task (answer-and-next, and next): p50 and p99; and,
// apart, of each annotator's first request, all 500 sent at once.
// MYRIAD_LOAD_THINK sets the annotators' median time per item (default
// 1s, log-normal; 0 answers at once, a throughput stress);
// MYRIAD_LOAD_SECONDS the length of the run (default 20).
func BenchmarkAnnotators500(b *testing.B) {
	think := time.Second
	if v := os.Getenv("MYRIAD_LOAD_THINK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		think = d
	}
	secs := 20
	if v, err := strconv.Atoi(os.Getenv("MYRIAD_LOAD_SECONDS")); err == nil {
		secs = v
	}
	const annotators = 500
	for range b.N {
		bd := setup(b, human.Config{}, "")
		toks := bd.annotators(b, "load", annotators)
		// Far more items than the run can use, so nobody runs dry.
		items := textItems(20_000, "item")
		id := submit(b, bd.c, humanJob("load", items, map[string]any{"labels": binary, "k": 3}))
		bd.waitStage(b, id)
		s, _ := crowd.NewSimulator(1, binary)
		ms := members(toks, func(i int) crowd.Annotator {
			return crowd.Annotator{ID: fmt.Sprint("l", i), Accuracy: 0.9, MedianTime: think, TimeSpread: 0.5}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
		c := &sim.Crowd{URL: bd.url, Token: bd.srv.AdminToken(), Members: ms, Answer: sim.Modelled(s, truthByText(yesNo)), Speed: 1,
			Idle: time.Hour, HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: annotators + 8}}}
		b.ResetTimer()
		rep, err := c.Run(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		p50, p99 := rep.Percentile(50), rep.Percentile(99)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(rep.Answers)/rep.Elapsed.Seconds(), "answers/s")
		b.ReportMetric(float64(rep.FirstPercentile(99).Microseconds())/1000, "first-p99-ms")
		fmt.Printf("500 annotators, think %v, %v: %d answers (%.0f/s), %d next-task round trips: p50 %v, p99 %v, max %v; "+
			"the %d first requests, all at once: p50 %v, p99 %v\n",
			think, rep.Elapsed.Round(time.Second), rep.Answers, float64(rep.Answers)/rep.Elapsed.Seconds(), len(rep.NextLatency),
			p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), rep.Percentile(100).Round(10*time.Microsecond),
			len(rep.FirstLatency), rep.FirstPercentile(50).Round(10*time.Microsecond), rep.FirstPercentile(99).Round(10*time.Microsecond))
	}
}
