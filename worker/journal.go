package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/myriadhq/myriad/api"
)

// Journal is what a worker keeps in Config.Journal: who it is and which
// leases it runs, rewritten before it starts granted work and after each
// round trip. A supervisor that sees the process die reads it to report
// those leases failed, with the reason, at once (see ReadJournal).
type Journal struct {
	Worker  api.WorkerInfo `json:"worker"`
	Server  string         `json:"server"`
	Seq     uint64         `json:"seq"`
	Running []api.TaskRef  `json:"running"`
}

// writeJournal replaces the journal file, if configured; atomically, so a
// reader never sees half of it.
func (w *Worker) writeJournal() {
	if w.cfg.Journal == "" {
		return
	}
	j := Journal{Worker: api.WorkerInfo{ID: w.id, Name: w.cfg.Name, Slots: w.cfg.Slots, Labels: w.cfg.Labels, Ops: w.reg.Ops()},
		Server: w.cfg.Server, Seq: w.seq, Running: make([]api.TaskRef, 0, len(w.running))}
	for id, r := range w.running {
		j.Running = append(j.Running, api.TaskRef{Task: id, Token: r.lease.Token})
	}
	b, err := json.Marshal(&j)
	if err != nil {
		return
	}
	tmp := w.cfg.Journal + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		w.log.Warn("write journal", "err", err)
		return
	}
	if err := os.Rename(tmp, w.cfg.Journal); err != nil {
		w.log.Warn("write journal", "err", err)
	}
}

// ReadJournal reads a worker's journal; a missing file is an empty one.
func ReadJournal(path string) (*Journal, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if os.IsNotExist(err) {
		return &Journal{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read worker journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("read worker journal %s: %w", path, err)
	}
	return &j, nil
}

// ReportCrash tells the coordinator (trying each of the journal's
// servers) that the worker process of j died while running its leases:
// each is reported failed with kind crash and the given reason, and the
// worker as draining, so it is given no more work. It returns how many
// reports the coordinator accepted. token is the API token the worker
// used (the journal keeps no secret).
func ReportCrash(ctx context.Context, client *http.Client, j *Journal, reason, token string) (int, error) {
	if len(j.Running) == 0 || j.Worker.ID == "" {
		return 0, nil
	}
	req := api.SyncRequest{Worker: j.Worker, Seq: j.Seq + 1, Draining: true}
	if req.Worker.Slots < 1 {
		req.Worker.Slots = 1
	}
	for _, r := range j.Running {
		req.Failed = append(req.Failed, api.Failure{Task: r.Task, Token: r.Token, Kind: api.FailCrash, Error: reason})
	}
	body, err := json.Marshal(&req)
	if err != nil {
		return 0, fmt.Errorf("report crash: %w", err)
	}
	var last error
	for _, u := range syncURLs(j.Server) {
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("report crash: %w", err)
		}
		hr.Header.Set("Content-Type", "application/json")
		if token != "" {
			hr.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(hr)
		if err != nil {
			last = err
			continue
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			last = fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(data)))
			continue
		}
		var resp api.SyncResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			return 0, fmt.Errorf("report crash: %w", err)
		}
		return len(resp.Accepted), nil
	}
	return 0, fmt.Errorf("report crash: %w", last)
}
