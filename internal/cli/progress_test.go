package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

func runningStatus(done int64) *api.JobStatus {
	return &api.JobStatus{ID: "j1", Name: "resize", State: task.JobRunning, Elapsed: 12, Rate: 7.5,
		Counts: task.Counts{Done: done, Running: 2},
		ETA:    &api.ETA{Known: true, RemainingS: 90},
		Stages: []api.StageStatus{{Name: "resize", Expected: 40, Counts: task.Counts{Done: done, Running: 2}}},
	}
}

// On a terminal the progress is a bar per stage, redrawn in place, with
// the rate and the ETA.
func TestProgressOnTerminal(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &progress{w: &b, tty: true, width: 100}
	p.update(runningStatus(10))
	p.update(runningStatus(20))
	out := b.String()
	if !strings.Contains(out, "[==========") || !strings.Contains(out, "7.5/s") || !strings.Contains(out, "ETA 1m30s") {
		t.Fatalf("terminal progress: %q", out)
	}
	if !strings.Contains(out, "\x1b[2A\x1b[J") {
		t.Fatalf("the second update did not redraw in place: %q", out)
	}
	if !strings.Contains(out, "20/40") {
		t.Fatalf("the redraw does not show the new count: %q", out)
	}
}

// Off a terminal: plain lines, no escape codes, the same line not twice.
func TestProgressPlainLines(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := newProgress(&b)
	if p.tty {
		t.Fatal("a buffer taken for a terminal")
	}
	p.update(runningStatus(10))
	p.update(runningStatus(10))
	end := runningStatus(40)
	end.State = task.JobCompleted
	p.update(end)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || strings.Contains(b.String(), "\x1b") {
		t.Fatalf("plain progress: %q", b.String())
	}
	if !strings.Contains(lines[0], "10/40 microtasks done (25.0%)") || !strings.Contains(lines[0], "7.5/s") || !strings.Contains(lines[0], "ETA 1m30s") {
		t.Fatalf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "completed") {
		t.Fatalf("last line %q", lines[1])
	}
}

// While some stage has no timing yet the ETA is a lower bound.
func TestETALowerBound(t *testing.T) {
	t.Parallel()
	st := runningStatus(10)
	st.ETA = &api.ETA{Known: false, RemainingS: 12}
	if got := fmtETA(st); got != "≥12s" {
		t.Errorf("partial ETA %q, want ≥12s", got)
	}
	st.ETA = &api.ETA{Known: false}
	if got := fmtETA(st); got != "?" {
		t.Errorf("unknown ETA %q, want ?", got)
	}
}
