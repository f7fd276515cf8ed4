package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/task"
)

// progress shows a job's progress: bars redrawn in place on a terminal,
// plain lines (at most one every few seconds) otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	width int
	lines int // lines drawn last time (tty)
	last  time.Time
	prev  string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 40 {
			p.width = wd
		}
	}
	return p
}

func (p *progress) update(st *api.JobStatus) {
	if p.tty {
		p.draw(st)
		return
	}
	line := plainLine(st)
	if line == p.prev {
		return
	}
	if time.Since(p.last) < 2*time.Second && !st.State.Final() {
		return
	}
	p.last, p.prev = time.Now(), line
	fmt.Fprintln(p.w, line)
}

func (p *progress) draw(st *api.JobStatus) {
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.lines)
	}
	fmt.Fprintf(&b, "%s %s  %s  %s elapsed  %s  ETA %s\n", st.ID, st.Name, colorState(st.State),
		fmtDur(st.Elapsed), fmtRate(st.Rate), fmtETA(st))
	nameW := 5
	for _, s := range st.Stages {
		nameW = max(nameW, min(len(s.Name), 20))
	}
	barW := max(10, p.width-nameW-58)
	for _, s := range st.Stages {
		total := max(s.Expected, s.Counts.Total()-s.Counts.Pending)
		fmt.Fprintf(&b, "  %-*s %s %7d/%-7d run %-4d fail %-4d dead %-4d\n", nameW, trunc(s.Name, 20),
			bar(s.Counts, total, barW), s.Counts.Done, total, s.Counts.Running, s.Counts.Failed, s.Counts.Dead)
	}
	p.lines = 1 + len(st.Stages)
	io.WriteString(p.w, b.String())
}

// bar draws done (=), running (>) and dead (x) shares of total.
func bar(c task.Counts, total int64, w int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", w) + "]"
	}
	cells := func(n int64) int { return int(math.Round(float64(n) / float64(total) * float64(w))) }
	done, dead, run := cells(c.Done), cells(c.Dead), cells(c.Running)
	if done+dead+run > w {
		run = max(0, w-done-dead)
	}
	return "[" + strings.Repeat("=", done) + strings.Repeat("x", dead) + strings.Repeat(">", run) +
		strings.Repeat(" ", max(0, w-done-dead-run)) + "]"
}

func plainLine(st *api.JobStatus) string {
	c := st.Counts
	var total int64
	for _, s := range st.Stages {
		total += max(s.Expected, s.Counts.Total()-s.Counts.Pending)
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(c.Done+c.Dead) / float64(total)
	}
	return fmt.Sprintf("%s %s: %d/%d microtasks done (%.1f%%), %d running, %d failed, %d dead, %s, ETA %s",
		st.ID, st.State, c.Done, total, pct, c.Running, c.Failed, c.Dead, fmtRate(st.Rate), fmtETA(st))
}

func colorState(s task.JobState) string {
	switch s {
	case task.JobCompleted:
		return "\x1b[32m" + string(s) + "\x1b[0m"
	case task.JobCompletedWithErrors, task.JobCanceled:
		return "\x1b[33m" + string(s) + "\x1b[0m"
	}
	return string(s)
}

func fmtETA(st *api.JobStatus) string {
	if st.State.Final() {
		return "-"
	}
	switch {
	case st.ETA == nil:
		return "?"
	case !st.ETA.Known && st.ETA.RemainingS > 0:
		// Some remaining stage has no timing yet, so its work is left
		// out: a lower bound (as the dashboard shows it).
		return "≥" + fmtDur(st.ETA.RemainingS)
	case !st.ETA.Known:
		return "?"
	}
	return fmtDur(st.ETA.RemainingS)
}

func fmtRate(r float64) string {
	if r <= 0 {
		return "-/s"
	}
	if r >= 100 {
		return fmt.Sprintf("%.0f/s", r)
	}
	return fmt.Sprintf("%.1f/s", r)
}

func fmtDur(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
