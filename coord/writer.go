package coord

import (
	"context"
	"fmt"
	"time"

	"github.com/myriadhq/myriad/store"
)

// op is a unit of work for the writer. run executes on the writer
// goroutine with c.mu held, inside a transaction shared with other ops; it
// returns an error only for store failures (which roll the transaction
// back). run may be called again, alone, if its batch failed, so it must
// reset any output it records.
type op struct {
	run  func(ctx context.Context, tx store.Tx) error
	done chan error
}

// do runs fn on the writer and waits for its transaction to commit.
func (c *Coordinator) do(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	o := &op{run: fn, done: make(chan error, 1)}
	select {
	case c.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stopped:
		return ErrStopped
	}
	select {
	case err := <-o.done:
		return err
	case <-c.stopped:
		return ErrStopped
	}
}

// writer groups queued ops into transactions until ctx ends. When it
// ends, the batch being written still commits (its transaction does not
// see the cancellation) and the ops already queued are written too, so a
// clean stop loses no request it took: results reported just before a
// SIGTERM are committed, not rolled back.
func (c *Coordinator) writer(ctx context.Context) {
	stx := context.WithoutCancel(ctx)
	batch := make([]*op, 0, c.cfg.MaxBatchOps)
	for {
		batch = batch[:0]
		select {
		case o := <-c.ops:
			batch = append(batch, o)
		case <-ctx.Done():
			c.flush(stx, batch)
			return
		}
		c.writeBatch(stx, batch)
	}
}

// flush writes the ops still queued, in batches, until none is left.
func (c *Coordinator) flush(ctx context.Context, batch []*op) {
	for {
		select {
		case o := <-c.ops:
			c.log.Info("stopping: writing queued requests", "ops", len(c.ops)+1)
			c.writeBatch(ctx, append(batch[:0], o))
		default:
			return
		}
	}
}

// writeBatch gathers more queued ops into batch, up to MaxBatchOps, runs
// them in one transaction and answers each.
func (c *Coordinator) writeBatch(ctx context.Context, batch []*op) {
gather:
	for len(batch) < cap(batch) {
		select {
		case o := <-c.ops:
			batch = append(batch, o)
		default:
			break gather
		}
	}
	err := c.runBatch(ctx, batch)
	if err != nil && len(batch) > 1 {
		// One op's failure must not fail the others: run each alone.
		c.log.Warn("batch failed; retrying its requests one by one", "ops", len(batch), "err", err)
		for _, o := range batch {
			o.done <- c.runBatch(ctx, []*op{o})
		}
		return
	}
	for _, o := range batch {
		o.done <- err
	}
}

// runBatch runs ops in one transaction. On failure the in-memory state,
// which the ops already changed, is rebuilt from the store.
func (c *Coordinator) runBatch(ctx context.Context, ops []*op) error {
	c.cl.batchMu.Lock() // a refresh waits for the batch (shared.go)
	defer c.cl.batchMu.Unlock()
	start := time.Now()
	err := c.st.InTx(ctx, func(tx store.Tx) error {
		c.mu.Lock()
		defer c.mu.Unlock() // released before the commit
		for _, o := range ops {
			if err := o.run(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Hooks.storeTx(time.Since(start), err)
	if err != nil {
		if rerr := c.reloadLocked(ctx); rerr != nil {
			c.log.Error("reload after failed transaction", "err", rerr)
		}
		c.newWork = false
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if c.newWork {
		c.newWork = false
		c.signalWorkLocked()
	}
	return nil
}
