package coord

import (
	"context"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/store"
)

// parkedPoll is a worker's request waiting for work (long poll). When a
// batch makes work ready, the writer claims for parked polls inside that
// same transaction, so the microtasks reach an idle worker after one
// commit instead of two (the batch's, then a claim of its own).
type parkedPoll struct {
	w     *workerRT
	want  int
	seq   uint64
	resp  *api.SyncResponse
	ready chan struct{} // closed once the batch that took it has ended
	ok    bool          // the batch committed: resp.Leases are granted
}

// parkLocked registers a waiting poll.
func (c *Coordinator) parkLocked(w *workerRT, want int, seq uint64, resp *api.SyncResponse) *parkedPoll {
	p := &parkedPoll{w: w, want: want, seq: seq, resp: resp, ready: make(chan struct{})}
	c.parked = append(c.parked, p)
	return p
}

// unpark withdraws p. If a batch took it already, it waits for that
// batch to end and reports true: p.ok and p.resp say what it granted.
func (c *Coordinator) unpark(p *parkedPoll) bool {
	c.mu.Lock()
	for i, q := range c.parked {
		if q == p {
			c.parked = append(c.parked[:i], c.parked[i+1:]...)
			c.mu.Unlock()
			return false
		}
	}
	c.mu.Unlock()
	<-p.ready
	return true
}

// serveParkedLocked claims work for the parked polls in tx, when the
// batch made work ready; it returns the polls it took.
func (c *Coordinator) serveParkedLocked(ctx context.Context, tx store.Tx) ([]*parkedPoll, error) {
	if !c.newWork || len(c.parked) == 0 {
		return nil, nil
	}
	taken := c.parked
	c.parked = nil
	for _, p := range taken {
		p.resp.Leases = p.resp.Leases[:0]
		if err := c.claim(ctx, tx, p.w, p.want, p.seq, p.resp); err != nil {
			return taken, err
		}
	}
	return taken, nil
}

// releaseParked tells the polls a batch took how it ended.
func releaseParked(taken []*parkedPoll, committed bool) {
	for _, p := range taken {
		p.ok = committed
		if !committed {
			p.resp.Leases = p.resp.Leases[:0]
		}
		close(p.ready)
	}
}
