package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/coord"
)

// wake posts to the wake endpoint of worker id and returns the status.
func wake(t *testing.T, url, id string) int {
	t.Helper()
	res, err := authPost(url+"/v1/workers/"+id+"/wake", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// A worker's long poll answers as soon as the worker asks (it has results
// to report), long before its wait is over; without the wake it would wait
// the full minute, past the test's deadline.
func TestWakeEndsALongPoll(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{MaxWait: time.Minute, LeaseTTL: 10 * time.Minute}, "")
	w := handWorker("W")
	rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 1})
	ctx := ctxT(t, 20*time.Second)
	body, _ := json.Marshal(&api.SyncRequest{Worker: w, Seq: 2, Want: 1, WaitMS: 60_000})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+"/v1/workers/sync", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	answered := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				err = &statusError{res.Status}
			}
		}
		answered <- err
	}()
	// The wake may reach the coordinator before or after the poll parks;
	// either way the poll answers.
	if got := wake(t, b.url, "W"); got != http.StatusNoContent {
		t.Fatalf("wake: status %d, want 204", got)
	}
	if err := <-answered; err != nil {
		t.Fatalf("the long poll did not answer after the wake: %v", err)
	}
	// The wake is used up: the next poll waits again (here: its 300 ms).
	start := time.Now()
	rawSync(t, b.url, &api.SyncRequest{Worker: w, Seq: 3, Want: 1, WaitMS: 300})
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("the next poll answered after %v: the wake was not used up", waited)
	}
}

type statusError struct{ status string }

func (e *statusError) Error() string { return e.status }

func TestWakeUnknownWorker(t *testing.T) {
	t.Parallel()
	b := setup(t, coord.Config{}, "")
	if got := wake(t, b.url, "nobody"); got != http.StatusNotFound {
		t.Fatalf("wake of an unknown worker: status %d, want 404", got)
	}
}
