// Package faulty wraps a store.Store so that its write transactions fail
// on demand, standing in for a full disk, a lost database connection or a
// failed commit in tests of what the coordinator does then: a failing
// write must be reported, retried or refused, never lost silently.
package faulty

import (
	"context"
	"errors"
	"sync"

	"github.com/myriadhq/myriad/store"
)

// ErrInjected is the default error of a failing write.
var ErrInjected = errors.New("faulty store: injected write failure (disk full)")

// Mode says how a failing transaction fails.
type Mode int

const (
	// Healthy: transactions run normally.
	Healthy Mode = iota
	// FailBegin: InTx fails before running fn, as when the database
	// cannot be reached.
	FailBegin
	// FailCommit: InTx runs fn in a real transaction, then fails it, so
	// nothing fn wrote is kept — as when the commit hits a full disk.
	FailCommit
)

// Store is a store.Store whose writes fail on demand. Reads pass through.
// It does not pass store.Cluster through (a wrapped store is never
// shared), nor the optional transaction interfaces.
type Store struct {
	store.Store

	mu     sync.Mutex
	mode   Mode
	every  int // with a mode set: fail only every n-th transaction (0 or 1: all)
	count  int
	err    error
	failed int64
	tried  int64
}

var _ store.Store = (*Store)(nil)

// New wraps s, healthy until Fail is called.
func New(s store.Store) *Store { return &Store{Store: s} }

// Fail makes transactions fail in mode m with err (ErrInjected if nil):
// every one if every is 0 or 1, else every every-th.
func (s *Store) Fail(m Mode, every int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode, s.every, s.count, s.err = m, every, 0, cmpErr(err)
}

// Heal makes transactions succeed again.
func (s *Store) Heal() { s.Fail(Healthy, 0, nil) }

// Failed is how many transactions were made to fail; Tried how many
// were attempted in all.
func (s *Store) Failed() (failed, tried int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed, s.tried
}

func cmpErr(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// next decides the fate of one transaction.
func (s *Store) next() (Mode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tried++
	if s.mode == Healthy {
		return Healthy, nil
	}
	s.count++
	if s.every > 1 && s.count%s.every != 0 {
		return Healthy, nil
	}
	s.failed++
	return s.mode, s.err
}

// InTx implements store.Store, failing as set by Fail.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	m, ferr := s.next()
	switch m {
	case FailBegin:
		return ferr
	case FailCommit:
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return ferr // roll back what fn wrote
		})
		return err
	}
	return s.Store.InTx(ctx, fn)
}
