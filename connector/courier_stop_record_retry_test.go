package connector_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestRecordOfASendAStopRemovedOutlivesItsLease checks that the record of
// a send that went through after a stop removed its delivery, and after
// the delivery's lease would have ended, is retried when its first call
// fails: no other engine can take a delivery that is gone, so the lease
// does not bound the retries, and the send's receipt and delivered
// decision are stored rather than lost.
func TestRecordOfASendAStopRemovedOutlivesItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &failFirstRecord{Memory: store.NewMemory()}
		send := &gatedSender{}
		o := &outcomes{}
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute),
			connector.WithDecisionLog(100, 24*time.Hour), connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		waitingUsers(t, e, clk, 1)
		done := make(chan error, 1)
		go func() {
			_, err := e.Tick(ctx)
			done <- err
		}()
		synctest.Wait()
		require.Equal(t, 1, send.calls())
		require.NoError(t, e.Stop(ctx, "f")) // the delivery is removed under the send's lease
		clk.Add(15 * time.Second)            // the keeper finds it gone
		synctest.Wait()
		clk.Add(2 * time.Minute) // past the lease's end
		synctest.Wait()
		send.answer[0] <- nil // the sender accepted it; the record's first call fails
		require.NoError(t, settle(done, clk, 10*time.Millisecond), "the Tick gave up the record")
		require.True(t, s.failed, "the record's first call failed")

		u, err := s.Memory.User(ctx, "", "u0")
		require.NoError(t, err)
		_, ok := u.Receipt("f")
		require.True(t, ok, "the send's receipt is stored")
		require.Equal(t, 1, kindsOf(loggedOutcomes(u))[rule.Delivered], "delivered decisions logged")
		require.Equal(t, 1, kindsOf(o.all())[rule.Delivered], "delivered decisions observed")
	})
}

// recordsDown is a memory store that, while down is set, fails every call
// that would record a send to a user (add a receipt), as a store out of
// reach for those calls does, and answers the others.
type recordsDown struct {
	*store.Memory
	down atomic.Bool
}

func (s *recordsDown) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.down.Load() {
		st, err := s.Memory.User(ctx, ns, userID)
		if err != nil {
			st = store.UserState{} // a user whose state a stop emptied
		}
		c := st.Clone()
		fn(&c, false) // on a copy: the engine's update functions may run again
		if len(c.Receipts) > len(st.Receipts) {
			return errRecord
		}
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *recordsDown) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// TestRecordOfASendAStopRemovedIsRetriedForALeaseOnceFoundGone checks
// that a record whose retries started before the keeper found its
// delivery gone (a stop removed it during a short send, while most of its
// lease was left) is retried for a lease from its first failure once the
// keeper finds it gone, as if it had been found gone before: not only
// until the lease's end as it was when the retries started.
func TestRecordOfASendAStopRemovedIsRetriedForALeaseOnceFoundGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &recordsDown{Memory: store.NewMemory()}
		send := &gatedSender{}
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithLease(time.Minute))
		require.NoError(t, err)
		waitingUsers(t, e, clk, 1)
		start := clk.Now() // the delivery's lease ends a minute later
		done := make(chan error, 1)
		go func() {
			_, err := e.Tick(ctx)
			done <- err
		}()
		synctest.Wait()
		require.Equal(t, 1, send.calls())
		require.NoError(t, e.Stop(ctx, "f")) // the delivery is removed under the send's lease
		clk.Add(10 * time.Second)            // before the keeper looks at the lease
		synctest.Wait()
		s.down.Store(true)
		send.answer[0] <- nil // the sender accepted it; the record fails from now on
		failed := clk.Now()
		// The keeper finds the delivery gone half-way through its lease;
		// the store stays down past the lease's end, not a lease past the
		// record's first failure.
		for clk.Now().Before(start.Add(time.Minute + 2*time.Second)) {
			clk.Add(time.Second)
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("the Tick gave up the record at %v, %v after its first failure: %v", clk.Now().Sub(start), clk.Now().Sub(failed), err)
			default:
			}
		}
		s.down.Store(false)
		require.NoError(t, settle(done, clk, time.Second))
		u, err := s.Memory.User(ctx, "", "u0")
		require.NoError(t, err)
		_, ok := u.Receipt("f")
		require.True(t, ok, "the send's receipt is stored")
	})
}
