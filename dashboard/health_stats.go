package dashboard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// statsReuse is how long the health page shows the store's figures it
// read before it reads them again. The page reloads itself every few
// seconds while it is open, and Stats reads every row of the namespace's
// tables on a SQL store (about a second at a million pending
// deliveries): with the figures shared, open pages cost one read per
// statsReuse, however many there are.
const statsReuse = 30 * time.Second

// sharedStats, safe for concurrent use, shares the health page's reads of the store's figures
// between the views of every viewer: one read at a time, whose figures the
// views reuse while they are younger than statsReuse. A failed read is
// not kept, and the figures before it are forgotten: the next view reads
// again, even when the clock went back and those figures seem young.
type sharedStats struct {
	mu     sync.Mutex
	last   statsRead    // the latest figures read; zero At: none
	flight *statsFlight // the read in flight; nil: none
}

// errStatsPanicked is what the views waiting for a read get when the
// store's Stats panicked in it.
var errStatsPanicked = errors.New("dashboard: the store's Stats panicked")

// statsRead is the store's figures and when they were read: when the
// read began, on the engine's clock.
type statsRead struct {
	Stats store.Stats
	At    time.Time
}

// statsFlight is a read in flight, which the views that come while it
// runs wait for.
type statsFlight struct {
	done chan struct{} // closed when read and err are set
	ctx  context.Context
	read statsRead
	err  error
}

// get returns the store's figures: those read less than statsReuse before
// now on the engine's clock, or those of the read in flight, or those of
// a read it makes with ctx. A view that waits for another's read and whose
// own context ends returns its context's error; one whose read failed
// because the reading view's context ended (its client left, or its
// deadline passed) reads again, with its own context.
func (s *sharedStats) get(ctx context.Context, src source) (statsRead, error) {
	for {
		s.mu.Lock()
		now := src.Now()
		if age := now.Sub(s.last.At); !s.last.At.IsZero() && age >= 0 && age < statsReuse {
			last := s.last
			s.mu.Unlock()
			return last, nil
		}
		f := s.flight
		if f == nil {
			f = &statsFlight{done: make(chan struct{}), ctx: ctx, read: statsRead{At: now}}
			s.flight = f
			s.mu.Unlock()
			s.read(f, src)
			return f.read, f.err
		}
		s.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return statsRead{}, ctx.Err()
		}
		switch {
		case f.err == nil:
			return f.read, nil
		case f.ctx.Err() == nil || ctx.Err() != nil:
			return statsRead{}, f.err
		}
	}
}

// read makes the read of f, keeps its figures when it worked, and ends
// the flight, even when Stats panics. A read that failed forgets the
// figures kept before it: a read starts only when they are too old, or
// read later than now (the clock went back), and a clock that comes back
// within statsReuse of their read would otherwise show them as young,
// after a failed read.
func (s *sharedStats) read(f *statsFlight, src source) {
	defer func() {
		s.mu.Lock()
		s.flight = nil
		s.last = statsRead{}
		if f.err == nil {
			s.last = f.read
		}
		s.mu.Unlock()
		close(f.done)
	}()
	f.err = errStatsPanicked // until Stats returns
	f.read.Stats, f.err = src.Stats(f.ctx)
}
