package connector_test

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// storePanics is a memory store whose claims or batches of updates, once
// armed, panic: a driver with a bug. It panics in the call that takes the
// armed count to zero. With a gate, its first gated batches of updates
// wait for the gate to close.
type storePanics struct {
	*store.Memory
	claims, batches atomic.Int32
	gate            chan struct{}
	gated           atomic.Int32
}

func (s *storePanics) Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]store.Claim, error) {
	if s.claims.Add(-1) == 0 {
		panic("the store's driver panicked")
	}
	return s.Memory.Claim(ctx, ns, now, lease, limit, token)
}

func (s *storePanics) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.gate != nil && s.gated.Add(-1) >= 0 {
		<-s.gate
	}
	if s.batches.Add(-1) == 0 {
		panic("the store's driver panicked")
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestATickWithSeveralSlotsUnwindsOnItsGoroutine: a panic in a send slot
// that runs on a goroutine of its own (several deliveries due, and several
// slots) unwinds the Tick, on the Tick's goroutine, for the host to
// recover, as it does with one slot: an observer's, the store's in a
// shared update or a claim (the first, or one made ahead on a goroutine of
// its own), and a sender's runtime.Goexit. Before, it ended the process,
// and a store's panic in a shared call left the other slots waiting for
// it for ever. Nothing is left at work, and what the Tick left is sent
// after its lease.
func TestATickWithSeveralSlotsUnwindsOnItsGoroutine(t *testing.T) {
	const lease = time.Minute
	for _, tc := range []struct {
		name string
		arm  func(s *storePanics, fail *atomic.Bool)
		want any // recovered; nil: runtime.Goexit
	}{
		{"observer", func(_ *storePanics, fail *atomic.Bool) { fail.Store(true) }, "observer"},
		{"store in an update", func(s *storePanics, _ *atomic.Bool) { s.batches.Store(2) }, "the store's driver panicked"},
		// The first calls, one per slot's confirmation, wait until as many
		// calls as a courier makes at once are in progress, and the other
		// slots' confirmations wait for them: the next call holds them
		// all, and panics.
		{"store in a shared update", func(s *storePanics, _ *atomic.Bool) {
			s.gate = make(chan struct{})
			s.gated.Store(4)
			s.batches.Store(5)
		}, "the store's driver panicked"},
		{"store in a later claim", func(s *storePanics, _ *atomic.Bool) { s.claims.Store(2) }, "the store's driver panicked"},
		{"sender ends its goroutine", func(_ *storePanics, fail *atomic.Bool) { fail.Store(true) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &storePanics{Memory: store.NewMemory()}
				var fail atomic.Bool
				var sent atomic.Int32
				send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
					if tc.name == "sender ends its goroutine" && fail.CompareAndSwap(true, false) {
						runtime.Goexit()
					}
					sent.Add(1)
					return nil
				})
				e, err := connector.New(s, send, connector.WithSendConcurrency(8),
					connector.WithBatchSize(8), connector.WithLease(lease),
					connector.WithLogger(slog.New(slog.DiscardHandler)),
					connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
						if tc.name == "observer" && d.Kind == rule.Delivered && fail.CompareAndSwap(true, false) {
							panic("observer")
						}
					})))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2", "u3", "u4", "u5") // ten deliveries
				tc.arm(s, &fail)
				returned := false
				func() {
					done := make(chan any)
					go func() {
						unwound := true
						defer func() {
							if unwound {
								done <- recover()
							}
						}()
						_, _ = e.Tick(context.Background())
						unwound = false
						close(done)
					}()
					if s.gate != nil {
						synctest.Wait()
						close(s.gate)
					}
					v, ok := <-done
					returned = !ok
					require.Equal(t, tc.want, v)
				}()
				require.False(t, returned, "the Tick returned")
				time.Sleep(2 * lease)
				synctest.Wait()
				for {
					n, err := e.Tick(context.Background())
					require.NoError(t, err)
					if n == 0 {
						break
					}
				}
				st, err := e.Stats(context.Background())
				require.NoError(t, err)
				require.Zero(t, st.Pending, "deliveries left unsent")
				require.GreaterOrEqual(t, sent.Load(), int32(10))
			})
		})
	}
}

// TestARunWithSeveralSlotsRepeatsTheirPanic: under Run, an observer's
// panic in a send slot on a goroutine of its own is repeated on Run's
// goroutine, for the host to recover, rather than end the process.
func TestARunWithSeveralSlotsRepeatsTheirPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := connector.New(store.NewMemory(), &sendLog{}, connector.WithSendConcurrency(8),
			connector.WithLogger(slog.New(slog.DiscardHandler)),
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				if d.Kind == rule.Delivered {
					panic("observer")
				}
			})))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2", "u3")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_ = e.Run(ctx)
		}()
		require.Equal(t, "observer", <-recovered)
		cancel()
		synctest.Wait()
	})
}

// TestATickWhoseGiveBackPanicsUnwinds: when the Tick's context ends, the
// claims not handed out go back on a goroutine of their own; the store's
// panic there unwinds the Tick once its send in progress is recorded,
// rather than end the process.
func TestATickWhoseGiveBackPanicsUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &storePanics{Memory: store.NewMemory()}
		release := make(chan struct{})
		l := &sendLog{during: func() { <-release }}
		e, err := connector.New(s, l, connector.WithSendConcurrency(1),
			connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		dueFor(t, e, "u1", "u2") // four deliveries, one sent at a time
		ctx, cancel := context.WithCancel(context.Background())
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_, _ = e.Tick(ctx)
			t.Error("the Tick returned")
		}()
		synctest.Wait() // the first send waits
		s.batches.Store(1)
		cancel() // the give-back's call panics
		synctest.Wait()
		close(release)
		require.Equal(t, "the store's driver panicked", <-recovered)
		require.Len(t, l.sends(), 1)
	})
}

// longSendLease is the lease of oneLongSend's engine.
const longSendLease = time.Minute

// oneLongSend returns an engine on s with one send slot and a lease of a
// minute, logging to log, with two deliveries due for u1, its sender's
// log, and the channel whose close lets its sends return: until then each
// waits.
func oneLongSend(t *testing.T, s store.Store, log *slog.Logger) (*connector.Engine, *sendLog, chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	l := &sendLog{during: func() { <-release }}
	e, err := connector.New(s, l, connector.WithSendConcurrency(1), connector.WithLease(longSendLease), connector.WithLogger(log))
	require.NoError(t, err)
	dueFor(t, e, "u1")
	return e, l, release
}

// TestATickWhoseLeaseRenewalPanicsUnwinds: the keeper renews the leases
// of long sends on a goroutine of its own; the store's panic there
// unwinds the Tick once its send in progress ends, rather than end the
// process.
func TestATickWhoseLeaseRenewalPanicsUnwinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &storePanics{Memory: store.NewMemory()}
		e, l, release := oneLongSend(t, s, slog.New(slog.DiscardHandler))
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			_, _ = e.Tick(context.Background())
			t.Error("the Tick returned")
		}()
		synctest.Wait() // the first send waits
		s.batches.Store(1)
		time.Sleep(longSendLease) // the keeper's renewal panics
		synctest.Wait()
		close(release)
		require.Equal(t, "the store's driver panicked", <-recovered)
		require.Len(t, l.sends(), 1)
	})
}

// TestALeaseRenewalThatPanicsLeavesTheNextRounds: after the store's panic
// in one renewal, the keeper goes on renewing the leases of the sends in
// progress: another engine on the same store does not take and send the
// delivery again while its send lasts. The Tick repeats the panic once
// the send ends.
func TestALeaseRenewalThatPanicsLeavesTheNextRounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &storePanics{Memory: store.NewMemory()}
		e, l, release := oneLongSend(t, s, slog.New(slog.DiscardHandler))
		recovered := tickPanic(e, context.Background())
		synctest.Wait() // the first send waits
		s.batches.Store(1)
		time.Sleep(longSendLease) // the keeper's first renewal panics
		synctest.Wait()
		require.LessOrEqual(t, s.batches.Load(), int32(0), "no renewal panicked")
		other := &sendLog{}
		o, err := connector.New(s, other, connector.WithLease(longSendLease), connector.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		for range 5 {
			time.Sleep(longSendLease)
			synctest.Wait()
			_, err := o.Tick(context.Background())
			require.NoError(t, err)
		}
		close(release)
		require.Equal(t, "the store's driver panicked", <-recovered)
		require.Len(t, l.sends(), 1)
		// The other engine sent the delivery the Tick had claimed and
		// not started, once its longSendLease ran out; not the one being sent.
		require.Len(t, other.sends(), 1)
		require.NotEqual(t, l.sends()[0].ID, other.sends()[0].ID, "the other engine sent the delivery being sent")
	})
}

// storeEndsRenewal is a memory store whose next batch of updates, once
// armed, ends its goroutine (runtime.Goexit), as a test store's
// t.FailNow does.
type storeEndsRenewal struct {
	*store.Memory
	armed atomic.Bool
}

func (s *storeEndsRenewal) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.armed.CompareAndSwap(true, false) {
		runtime.Goexit()
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestALeaseRenewalThatEndsItsGoroutineIsToldOnce: a store that ends
// the keeper's goroutine in a renewal (runtime.Goexit, which nothing
// stops) ends the keeper; the Tick repeats it once its send ends, and
// logs no other goroutine's end: there was none.
func TestALeaseRenewalThatEndsItsGoroutineIsToldOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &storeEndsRenewal{Memory: store.NewMemory()}
		var logged syncBuffer
		e, l, release := oneLongSend(t, s, slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError})))
		ended := make(chan bool, 1)
		go func() {
			returned := false
			defer func() {
				if !returned {
					ended <- recover() == nil // runtime.Goexit: nothing to recover
				}
			}()
			_, _ = e.Tick(context.Background())
			returned = true
			ended <- false
		}()
		synctest.Wait() // the first send waits
		s.armed.Store(true)
		time.Sleep(longSendLease) // the keeper's renewal ends its goroutine
		synctest.Wait()
		require.False(t, s.armed.Load(), "no renewal came")
		close(release)
		require.True(t, <-ended, "the Tick did not end its goroutine")
		require.Len(t, l.sends(), 1)
		require.Empty(t, logged.String())
	})
}
