package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
)

// The dashboard at the scale issue 8 asks for: a coordinator process with
// 1 000 running jobs and a worker making progress, the jobs list open in
// Chromium with live updates. Reports the time from navigation (Chromium
// starting included) to the first page of rows, and the longest gap
// between animation frames over 10 s of updates — how janky the page is.
//
//	go test -run '^$' -bench Dashboard1000Jobs -benchtime 1x ./internal/e2e/
func BenchmarkDashboard1000Jobs(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr
	procs := []*exec.Cmd{
		exec.Command(binary, "server", "--listen", addr, "--data", b.TempDir(), "--sync", "normal"),
		exec.Command(binary, "worker", "--server", url, "--slots", "4", "--name", "w0"),
	}
	for _, p := range procs {
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Process.Signal(syscall.SIGKILL); p.Wait() })
	}
	c := client.New(url)
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err = c.Submit(ctx, benchJob(0)); err == nil {
			break
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < 1000; i++ {
		if _, err := c.Submit(ctx, benchJob(i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		br := newBrowser(b)
		signIn(b, br, url)
		start := time.Now()
		if err := chromedp.Do(br, chromedp.Navigate(url+"/ui/#/jobs")); err != nil {
			b.Fatal(err)
		}
		pollCount(b, br, "table.jobs tbody tr", 50)
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-rows")
		gap, err := chromedp.Run(br, chromedp.Evaluate[float64](`new Promise(res => {
			let last = performance.now(), worst = 0; const end = last + 10000;
			const f = (t) => { worst = Math.max(worst, t - last); last = t; if (t < end) requestAnimationFrame(f); else res(worst); };
			requestAnimationFrame(f); })`, func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(gap, "ms-worst-frame-gap")
	}
}

func benchJob(i int) *spec.Job {
	return &spec.Job{Name: fmt.Sprintf("job-%d", i), Input: spec.Input{Items: []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		Stages: []spec.Stage{{Op: "sleep", Params: map[string]any{"ms": 2000}}}}
}
