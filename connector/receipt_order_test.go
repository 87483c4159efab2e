package connector_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failFirstRecord is a memory store that fails the first call recording a
// send (an op that sets a receipt): without applying it, or, with
// lostReply, after applying it, as when a connection drops between a
// commit and its reply. It takes a batch's ops one at a time, so that only
// that op fails.
type failFirstRecord struct {
	*store.Memory
	lostReply bool

	mu     sync.Mutex
	failed bool
}

var errRecordOnce = errors.New("connection reset before the commit")

func (s *failFirstRecord) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	s.mu.Lock()
	fail := false
	if !s.failed {
		if st, err := s.Memory.User(ctx, ns, userID); err == nil {
			c := st.Clone()
			fn(&c, false) // on a copy: the engine's update functions may run again
			if !slices.Equal(c.Receipts, st.Receipts) {
				s.failed, fail = true, true
			}
		}
	}
	s.mu.Unlock()
	if fail && s.lostReply {
		if err := s.Memory.Update(ctx, ns, userID, now, dedup, fn); err != nil {
			return err
		}
	}
	if fail {
		return errRecordOnce
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *failFirstRecord) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// twoParallelSends starts a Tick on an engine on s (with opts) that sends
// two deliveries of follow-up f, which allows parallel deliveries, to user
// u at once, with two send slots, and returns once both sends are under
// way: each send returns when gate receives, and done the Tick's error.
func twoParallelSends(t *testing.T, clk *clock.Mock, s store.Store, opts ...connector.Option) (gate chan struct{}, done chan error) {
	t.Helper()
	ctx := context.Background()
	gate = make(chan struct{})
	var started atomic.Int32
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
		started.Add(1)
		<-gate
		return nil
	})
	e, err := connector.New(s, send, append([]connector.Option{connector.WithClock(clk), connector.WithSendConcurrency(2)}, opts...)...)
	require.NoError(t, err)
	for _, c := range []rule.Campaign{
		{ID: "o"},
		{ID: "f", PendingPolicy: rule.AllowParallel, Reeligibility: rule.ReeligibleAfter(0),
			Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	} {
		require.NoError(t, e.Save(ctx, c))
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	for _, id := range []string{"open-1", "open-2"} {
		require.NoError(t, e.Track(ctx, event.Event{ID: id, UserID: "u", Kind: event.PushOpened, CampaignID: "o", Time: clk.Now()}))
	}
	done = make(chan error, 1)
	go func() {
		_, err := e.Tick(ctx)
		done <- err
	}()
	synctest.Wait()
	require.Equal(t, int32(2), started.Load(), "both deliveries are being sent at once")
	return gate, done
}

// TestReceiptKeepsTheLaterSendWhenRecordsArriveOutOfOrder checks that when
// the record of a send is stored after the record of a later send of the
// same follow-up to the same user (two AllowParallel deliveries sent by two
// slots; the earlier one's record fails once and is retried), the user's
// receipt stays the later send's: its time and its expiry.
func TestReceiptKeepsTheLaterSendWhenRecordsArriveOutOfOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &failFirstRecord{Memory: store.NewMemory()}
		const keep = 30 * 24 * time.Hour
		gate, done := twoParallelSends(t, clk, s, connector.WithReceiptRetention(keep))

		first := clk.Now()
		gate <- struct{}{} // the first send returns; its record fails and waits 10ms to retry
		synctest.Wait()
		require.True(t, s.failed, "the first send's record failed")

		clk.Add(5 * time.Millisecond) // before the retry
		second := clk.Now()
		gate <- struct{}{} // the second send returns and is recorded
		synctest.Wait()
		u, err := s.Memory.User(ctx, "", "u")
		require.NoError(t, err)
		r, ok := u.Receipt("f")
		require.True(t, ok)
		require.True(t, r.At.Equal(second), "the second send is recorded before the first one's retry: %v", r.At)

		require.NoError(t, settle(done, clk, 10*time.Millisecond)) // the first send's record is retried
		u, err = s.Memory.User(ctx, "", "u")
		require.NoError(t, err)
		require.Empty(t, u.Pending, "both deliveries are recorded")
		r, ok = u.Receipt("f")
		require.True(t, ok)
		require.Truef(t, r.At.Equal(second), "receipt at %v: the first send's, at %v, replaced the later one's, at %v", r.At, first, second)
		require.True(t, r.Expires.Equal(second.Add(keep)), "receipt expires %v", r.Expires)
	})
}

// TestLostRecordReplyBehindALaterSendIsCountedOnce checks that the record
// of a send whose reply was lost (stored, reported as failed), retried
// after a later send of the same follow-up to the same user was recorded,
// finds itself stored although the later receipt replaced its own: the
// send is counted once toward the caps and logged and observed once.
func TestLostRecordReplyBehindALaterSendIsCountedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		clk := clock.NewMock()
		s := &failFirstRecord{Memory: store.NewMemory(), lostReply: true}
		o := &outcomes{}
		gate, done := twoParallelSends(t, clk, s,
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 10, Window: time.Hour}),
			connector.WithDecisionLog(100, 24*time.Hour),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		gate <- struct{}{} // the first send returns; its record is stored, reported as failed
		synctest.Wait()
		require.True(t, s.failed, "the first send's record failed")
		clk.Add(5 * time.Millisecond) // before the retry
		gate <- struct{}{}            // the second send returns and is recorded
		synctest.Wait()
		require.NoError(t, settle(done, clk, 10*time.Millisecond)) // the first send's record is retried
		u, err := s.Memory.User(ctx, "", "u")
		require.NoError(t, err)
		require.Len(t, u.Sends, 2, "cap entries of two sends: %v", u.Sends)
		require.Equal(t, 2, kindsOf(loggedOutcomes(u))[rule.Delivered], "delivered decisions logged")
		require.Equal(t, 2, kindsOf(o.all())[rule.Delivered], "delivered decisions observed")
	})
}
