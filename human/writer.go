package human

import (
	"context"
	"fmt"

	"github.com/myriadhq/myriad/store"
)

// op is a unit of work for the writer: run executes with s.mu held,
// inside a transaction shared with other ops, and returns an error only
// for store failures (which roll the transaction back). run may be called
// again, alone, if its batch failed, so it must reset what it records.
type op struct {
	run  func(ctx context.Context, tx store.HumanTx) error
	done chan error
}

// do runs fn on the writer and waits for its transaction to commit: many
// annotators' requests share one commit (group commit), as the
// coordinator's do.
func (s *Service) do(ctx context.Context, fn func(ctx context.Context, tx store.HumanTx) error) error {
	o := &op{run: fn, done: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrStopped
	}
	select {
	case err := <-o.done:
		return err
	case <-s.quit:
		return ErrStopped
	}
}

func (s *Service) writer(ctx context.Context) {
	batch := make([]*op, 0, s.cfg.MaxBatchOps)
	for {
		batch = batch[:0]
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-ctx.Done():
			return
		}
	gather:
		for len(batch) < cap(batch) {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		err := s.runBatch(ctx, batch)
		if err != nil && len(batch) > 1 {
			s.log.Warn("human batch failed; retrying its requests one by one", "ops", len(batch), "err", err)
			for _, o := range batch {
				o.done <- s.runBatch(ctx, []*op{o})
			}
			continue
		}
		for _, o := range batch {
			o.done <- err
		}
	}
}

// runBatch runs ops in one transaction. On failure the caches, which the
// ops already changed, are rebuilt from the store.
func (s *Service) runBatch(ctx context.Context, ops []*op) error {
	err := s.st.HumanInTx(ctx, func(tx store.HumanTx) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, o := range ops {
			if err := o.run(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mayClose {
		s.mayClose = false
		s.kickClose()
	}
	if err != nil {
		if rerr := s.reloadLocked(ctx); rerr != nil {
			s.log.Error("reload after failed transaction", "err", rerr)
		}
		return fmt.Errorf("human store: %w", err)
	}
	if s.newWork {
		s.newWork = false
		s.signalWorkLocked()
	}
	return nil
}
