package connector_test

import (
	"context"
	"errors"
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

// outage is a memory store whose updates fail while it is down, as a
// store out of reach does; its claims still answer (a database whose
// writes time out while its reads go through, or one back in time for
// the next Tick's claim).
type outage struct {
	*store.Memory
	down atomic.Bool
}

func (s *outage) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.down.Load() {
		return errOutOfReach
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *outage) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	return updateEach(ctx, ns, ops, s.Update)
}

// sendLog is a sender that records each delivery it gets, answers with
// answer (nil: accepted) and, if set, calls during first.
type sendLog struct {
	mu     sync.Mutex
	got    []connector.Delivery
	answer error
	during func() // called in each send, before it answers
}

func (l *sendLog) Send(_ context.Context, d connector.Delivery) error {
	l.mu.Lock()
	l.got = append(l.got, d)
	during := l.during
	l.mu.Unlock()
	if during != nil {
		during()
	}
	return l.answer
}

func (l *sendLog) sends() []connector.Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]connector.Delivery(nil), l.got...)
}

// lostRecord sends u1's delivery on an engine whose store goes down
// during the send and stays down past the delivery's lease, so that the
// Tick gives up its record; the store is then back. It returns the engine,
// its clock, store, sender and observed outcomes, and the delivery sent.
func lostRecord(t *testing.T, answer error, opts ...connector.Option) (*connector.Engine, *clock.Mock, *outage, *sendLog, *outcomes, connector.Delivery) {
	t.Helper()
	clk := clock.NewMock()
	s := &outage{Memory: store.NewMemory()}
	l := &sendLog{answer: answer}
	o := &outcomes{}
	opts = append([]connector.Option{connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(o.observe))}, opts...)
	e, err := connector.New(s, l, opts...)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.Apply(ctx, []rule.Campaign{
		{ID: "o"},
		{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	}))
	require.NoError(t, e.Track(ctx, event.Event{ID: "e1", UserID: "u1", Kind: event.PushOpened, CampaignID: "o"}))
	l.during = func() { s.down.Store(true) }
	_, err = tickSettled(e, clk, time.Second)
	require.ErrorIs(t, err, errOutOfReach)
	require.ErrorContains(t, err, "recording delivery")
	got := l.sends()
	require.Len(t, got, 1)
	l.during = nil
	s.down.Store(false)
	return e, clk, s, l, o, got[0]
}

// TestARecordTheStoreNeverTookIsStoredByTheNextClaim: the store fails
// every call recording a send that went through until the delivery's
// lease ran out. The engine's next claim of the delivery records that
// send's outcome, with the time the send returned, rather than send it
// again.
func TestARecordTheStoreNeverTookIsStoredByTheNextClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, nil)
		require.Empty(t, o.of(d.ID), "the outcome was observed before it was stored")
		sentAt := clk.Now() // the record's retries end as the lease does; the send returned before

		clk.Add(time.Minute) // past the lease
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, l.sends(), 1, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
		u, err := s.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
		r, ok := u.Receipt(d.CampaignID)
		require.True(t, ok)
		require.True(t, r.At.Before(sentAt), "the receipt is dated %v, after the send returned", r.At)
		require.Equal(t, int64(1), tallied(t, e, d.CampaignID, rule.Delivered))

		n, err = tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, l.sends(), 1)
	})
}

// TestAFailedSendWhoseRecordWasLostIsRetriedAtItsTime: the lost record is
// of a send the provider refused. The next claim stores the retry that
// send's record would have stored, due at its backoff, and sends nothing
// before then; the retry then sends attempt 2.
func TestAFailedSendWhoseRecordWasLostIsRetriedAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, errors.New("the provider refused"),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Hour, Max: time.Hour}))
		clk.Add(time.Minute)
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, l.sends(), 1, "attempt 1 was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Retried}, o.of(d.ID))
		u, err := s.User(context.Background(), "", "u1")
		require.NoError(t, err)
		require.Len(t, u.Pending, 1)
		p := u.Pending[0]
		require.False(t, p.Sending)
		require.Equal(t, 1, p.Attempt)
		require.True(t, p.ReadyAt.After(clk.Now().Add(50*time.Minute)), "the retry is due at %v", p.ReadyAt)

		l.answer = nil
		clk.Add(time.Hour)
		n, err = tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got := l.sends()
		require.Len(t, got, 2)
		require.Equal(t, 2, got[1].Attempt)
	})
}

// TestASendThatWentThroughWinsOverAnExceptionDuringIt: an exception
// arrives during a send that goes through, whose record is then lost. A
// claim that knew nothing of the send would cancel the delivery (the send
// may never have gone out); the engine that sent it records it delivered.
func TestASendThatWentThroughWinsOverAnExceptionDuringIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &outage{Memory: store.NewMemory()}
		o := &outcomes{}
		l := &sendLog{}
		e, err := connector.New(s, l, connector.WithClock(clk), connector.WithSendConcurrency(1),
			connector.WithObserver(connector.ObserverFunc(o.observe)))
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, e.Apply(ctx, []rule.Campaign{
			{ID: "cart"},
			{ID: "reminder", Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "cart"}},
				Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}},
		}))
		require.NoError(t, e.Track(ctx, event.Event{ID: "p1", UserID: "ann", Kind: event.PushReceived, CampaignID: "cart"}))
		l.during = func() {
			require.NoError(t, e.Track(ctx, event.Event{ID: "b1", UserID: "ann", Kind: event.Purchase}))
			s.down.Store(true)
		}
		clk.Add(time.Hour)
		_, err = tickSettled(e, clk, time.Second)
		require.ErrorIs(t, err, errOutOfReach)
		l.during = nil
		s.down.Store(false)

		clk.Add(time.Minute)
		_, err = tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		got := l.sends()
		require.Len(t, got, 1)
		// The purchase came too late to stop the send (it is ignored);
		// the delivery is not cancelled after it.
		require.Equal(t, []rule.DecisionKind{rule.Ignored, rule.Delivered}, o.of(got[0].ID))
		u, err := s.User(ctx, "", "ann")
		require.NoError(t, err)
		require.Empty(t, u.Pending)
		_, ok := u.Receipt("reminder")
		require.True(t, ok)
	})
}

// TestAKeptOutcomeOfAnEarlierAttemptIsNotRecorded: after this engine's
// record of attempt 1 was lost, another engine confirmed attempt 2 and
// died during it. The kept outcome is not that attempt's: the claim after
// the other engine's lease sends attempt 3, as any engine would.
func TestAKeptOutcomeOfAnEarlierAttemptIsNotRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, errors.New("the provider refused"),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 5, Base: time.Hour, Max: time.Hour}))
		clk.Add(time.Minute)
		require.NoError(t, s.Memory.Update(context.Background(), "", "u1", clk.Now(), store.Dedup{}, func(u *store.UserState, _ bool) {
			require.Len(t, u.Pending, 1)
			p := u.Pending[0]
			require.True(t, p.Sending)
			require.Equal(t, 1, p.Attempt)
			p.Attempt, p.Token, p.ReadyAt = 2, 42, clk.Now().Add(time.Minute)
		}))
		clk.Add(2 * time.Minute) // past the other engine's lease
		l.answer = nil
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got := l.sends()
		require.Len(t, got, 2)
		require.Equal(t, 3, got[1].Attempt)
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
	})
}

// TestAKeptOutcomeWhoseRecordFailsAgainIsKeptAgain: the store is down
// again when the next claim records the kept outcome. The outcome is kept
// once more, and the claim after that records it: the delivery is still
// sent once.
func TestAKeptOutcomeWhoseRecordFailsAgainIsKeptAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, clk, s, l, o, d := lostRecord(t, nil)
		s.down.Store(true)
		clk.Add(time.Minute)
		_, err := tickSettled(e, clk, time.Second)
		require.ErrorIs(t, err, errOutOfReach)
		require.ErrorContains(t, err, "recording delivery")
		s.down.Store(false)
		require.Empty(t, o.of(d.ID))

		clk.Add(time.Minute)
		n, err := tickSettled(e, clk, time.Second)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, l.sends(), 1, "the delivery was sent again")
		require.Equal(t, []rule.DecisionKind{rule.Delivered}, o.of(d.ID))
	})
}
