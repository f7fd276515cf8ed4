package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/myriadhq/myriad/worker"
)

// stderrTailLines is how many of a dead worker's last stderr lines go in
// the failure it is blamed for.
const stderrTailLines = 20

// superviseWorker runs `myriad worker` (args, without --supervise) as a
// child process. When the child dies of anything but a clean stop, the
// microtasks it was running (from its journal) are reported failed at
// once with the exit status and the last lines of its stderr — instead of
// waiting for their leases to expire — and a new child is started, after
// a delay that grows while children keep dying young. SIGTERM is passed
// on to the child, which drains; then superviseWorker returns.
func superviseWorker(ctx context.Context, args []string, token string, hc *http.Client, log *slog.Logger) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	dir, err := os.MkdirTemp("", "myriad-supervise-")
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	defer os.RemoveAll(dir)
	journal := filepath.Join(dir, "journal.json")
	client := &http.Client{Timeout: 30 * time.Second}
	if hc != nil {
		client.Transport = hc.Transport // trusts --ca
	}
	delay := time.Duration(0)
	for {
		os.Remove(journal)
		began := time.Now()
		status, tail, err := runChild(ctx, self, append(append([]string{}, args...), "--journal", journal))
		if err != nil {
			return err
		}
		if status == "" || ctx.Err() != nil {
			return nil // a clean stop, or we were asked to stop
		}
		if _, err := os.Stat(journal); os.IsNotExist(err) {
			// It never got an answer from a coordinator: bad flags or the
			// like, which a restart would not mend.
			return fmt.Errorf("worker exited (%s) before it ever connected: %s", status, tail)
		}
		j, jerr := worker.ReadJournal(journal)
		if jerr != nil {
			log.Error("worker died; its journal is unreadable, its leases will expire", "status", status, "err", jerr)
		} else {
			reason := fmt.Sprintf("worker process %s died (%s)", j.Worker.Name, status)
			if tail != "" {
				reason += "; last stderr lines:\n" + tail
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			n, rerr := worker.ReportCrash(rctx, client, j, reason, token)
			cancel()
			log.Warn("worker died; its microtasks reported failed", "worker", j.Worker.ID, "status", status, "running", len(j.Running), "accepted", n, "err", rerr)
		}
		if time.Since(began) > time.Minute {
			delay = 0
		}
		delay = min(max(2*delay, 500*time.Millisecond), 30*time.Second)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// runChild runs one child to its end. It returns "" if the child stopped
// cleanly, else how it died, with the last lines of its stderr (which
// also goes to ours).
func runChild(ctx context.Context, self string, args []string) (status, tail string, err error) {
	cmd := exec.Command(self, args...)
	cmd.Stdout = os.Stdout
	cmd.SysProcAttr = childAttr()
	// The parent-death signal follows the thread that started the child:
	// keep this goroutine on it until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", "", fmt.Errorf("supervise: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("supervise: start worker: %w", err)
	}
	var ring lastLines
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ring.copy(os.Stderr, stderr)
	}()
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM) // the child drains
		case <-done:
		}
	}()
	wg.Wait() // the pipe closes when the child exits
	werr := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case werr == nil:
		return "", "", nil
	case errors.As(werr, &ee):
		return ee.ProcessState.String(), ring.String(), nil // "exit status 2", "signal: killed"
	default:
		return werr.Error(), ring.String(), nil
	}
}

// lastLines keeps the last stderrTailLines lines written through copy.
type lastLines struct {
	lines []string
}

func (l *lastLines) copy(dst io.Writer, src io.Reader) {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(dst, line)
		l.lines = append(l.lines, line)
		if len(l.lines) > stderrTailLines {
			l.lines = l.lines[len(l.lines)-stderrTailLines:]
		}
	}
	io.Copy(dst, src) // a line too long for the scanner: pass the rest on
}

func (l *lastLines) String() string { return strings.Join(l.lines, "\n") }
