package connector_test

import (
	"context"
	"errors"
	"fmt"
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

// gatedCalls is a memory store that remembers the size of each batch of
// updates it gets, in the order they arrive, and holds every call until
// gate is closed.
type gatedCalls struct {
	*store.Memory
	gate  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func (s *gatedCalls) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(ops))
	gate := s.gate
	s.mu.Unlock()
	<-gate
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// dueFor schedules an immediate delivery of "now" for each user, and one of
// "also" too for users listed in both.
func dueFor(t *testing.T, e *connector.Engine, users ...string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []rule.Campaign{
		{ID: "o"},
		{ID: "now", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
		{ID: "also", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}}},
	} {
		require.NoError(t, e.Save(ctx, c))
	}
	require.NoError(t, e.Publish(ctx, "now"))
	require.NoError(t, e.Publish(ctx, "also"))
	require.NoError(t, e.Publish(ctx, "o"))
	for _, u := range users {
		require.NoError(t, e.Track(ctx, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "o"}))
	}
}

// tickSettled runs e's Tick inside a synctest bubble until it returns,
// moving clk by step whenever every goroutine of the bubble waits (on a
// backoff of the mock clock).
func tickSettled(e *connector.Engine, clk *clock.Mock, step time.Duration) (int, error) {
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.Tick(context.Background())
		done <- result{n, err}
	}()
	r := settle(done, clk, step)
	return r.n, r.err
}

// settle waits inside a synctest bubble for done's value, moving clk by
// step whenever every goroutine of the bubble waits.
func settle[T any](done <-chan T, clk *clock.Mock, step time.Duration) T {
	for {
		synctest.Wait()
		select {
		case v := <-done:
			return v
		default:
			clk.Add(step)
		}
	}
}

// TestTickSendSlotsShareStoreCalls checks that the store calls of send
// slots in flight together are shared: while a call is in progress, the
// ops of the other slots wait, and go together in the next calls.
func TestTickSendSlotsShareStoreCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := clock.NewMock()
		s := &gatedCalls{Memory: store.NewMemory(), gate: make(chan struct{})}
		close(s.gate) // for the setup
		var sent atomic.Int64
		send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
			sent.Add(1)
			return nil
		})
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(16))
		require.NoError(t, err)
		var users []string
		for i := range 600 { // enough for each lane of slots

			users = append(users, fmt.Sprint("u", i))
		}
		dueFor(t, e, users...)
		s.gate, s.sizes = make(chan struct{}), nil
		done := make(chan struct{})
		var n int
		go func() {
			defer close(done)
			n, err = e.Tick(context.Background())
		}()
		synctest.Wait() // the first calls wait at the gate, the other slots for them
		close(s.gate)
		<-done
		require.NoError(t, err)
		require.Equal(t, 1200, n)
		require.EqualValues(t, 1200, sent.Load())
		// The first call holds one slot's ops; the other slots' wait for it,
		// and go four at a time (16 slots and the keeper over 4 calls).
		require.Equal(t, []int{1, 4, 4, 4}, slices.Sorted(slices.Values(s.sizes[:4])), "%v", s.sizes)
	})
}

// TestTickFrequencyCapCountsSendsInProgress checks that a user's two
// deliveries due together pass a frequency cap of one a day only once,
// whether they go one after the other or are checked at the same time by
// two send slots: the cap counts the sends in progress.
func TestTickFrequencyCapCountsSendsInProgress(t *testing.T) {
	for _, conc := range []int{1, 8} {
		t.Run(fmt.Sprintf("send concurrency %d", conc), func(t *testing.T) {
			clk := clock.NewMock()
			var mu sync.Mutex
			var got []string
			send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
				mu.Lock()
				got = append(got, d.UserID+" "+d.CampaignID)
				mu.Unlock()
				return nil
			})
			e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(conc),
				connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Days: 1}))
			require.NoError(t, err)
			var users []string
			for i := range 40 {
				users = append(users, fmt.Sprint("u", i))
			}
			dueFor(t, e, users...) // every user has "now" and "also" due
			n, err := e.Tick(context.Background())
			require.NoError(t, err)
			require.Equal(t, 40, n, "one per user: %v", got)
		})
	}
}

// TestTickStoppedDuringASend checks that when Tick's context ends during
// a send, no other send starts: a delivery whose exception arrived
// meanwhile is cancelled, and the rest are given back as they were (same
// attempt, sent by the next Tick).
func TestTickStoppedDuringASend(t *testing.T) {
	clk := clock.NewMock()
	ctx, cancel := context.WithCancel(context.Background())
	var e *connector.Engine
	var attempts []string
	var decisions []rule.Decision
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		attempts = append(attempts, fmt.Sprint(d.UserID, "/", d.CampaignID, "#", d.Attempt))
		if len(attempts) == 2 {
			cancel()
			// An exception for the user of the group's other delivery,
			// reported late: it happened before the delivery's due time.
			require.NoError(t, e.Track(context.Background(), event.Event{UserID: "u2", Kind: event.Purchase, Time: clk.Now().Add(-time.Second)}))
		}
		return nil
	})
	var err error
	e, err = connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) })))
	require.NoError(t, err)
	bg := context.Background()
	require.NoError(t, e.Save(bg, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(bg, rule.Campaign{ID: "later", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
		Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}))
	require.NoError(t, e.Publish(bg, "later"))
	require.NoError(t, e.Publish(bg, "o"))
	for _, u := range []string{"u0", "u1", "u2", "u3"} {
		require.NoError(t, e.Track(bg, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "o"}))
		clk.Add(time.Millisecond) // due in this order
	}
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 2, n)
	require.Len(t, attempts, 2)
	// The exception that came during the send cancels the next delivery.
	i := slices.IndexFunc(decisions, func(d rule.Decision) bool { return d.Kind == rule.Cancelled })
	require.GreaterOrEqual(t, i, 0, "a cancellation: %v", decisions)
	require.Equal(t, rule.ReasonException, decisions[i].Reason)
	require.Equal(t, "u2", decisions[i].UserID)
	for _, d := range decisions {
		require.False(t, d.Kind == rule.Delivered && d.UserID == "u2", "u2 is not delivered")
	}
	// The rest goes with the next Tick, first attempts.
	n, err = e.Tick(bg)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, attempts, 3)
	require.Equal(t, "u3/later#1", attempts[2], "released as it was: a first attempt")
	st, err := e.Stats(bg)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// afterCalls is a memory store that calls hook after each update call,
// single or batched, with the users it touched.
type afterCalls struct {
	*store.Memory
	hook func(users []string)
}

func (s *afterCalls) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	err := s.Memory.Update(ctx, ns, userID, now, dedup, fn)
	if s.hook != nil {
		s.hook([]string{userID})
	}
	return err
}

func (s *afterCalls) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	err := s.Memory.UpdateBatch(ctx, ns, ops)
	if s.hook != nil {
		users := make([]string, len(ops))
		for i, op := range ops {
			users[i] = op.UserID
		}
		s.hook(users)
	}
	return err
}

// TestTickStoppedAfterTheLastCheck checks that a delivery whose last check
// was stored but whose send had not started when Tick's context ended is
// not sent: it is cancelled if an exception arrived since the check, and
// the others are given back as they were.
func TestTickStoppedAfterTheLastCheck(t *testing.T) {
	clk := clock.NewMock()
	ctx, cancel := context.WithCancel(context.Background())
	s := &afterCalls{Memory: store.NewMemory()}
	var attempts []string
	var decisions []rule.Decision
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		attempts = append(attempts, fmt.Sprint(d.UserID, "/", d.CampaignID, "#", d.Attempt))
		return nil
	})
	e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { decisions = append(decisions, d) })))
	require.NoError(t, err)
	bg := context.Background()
	require.NoError(t, e.Save(bg, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(bg, rule.Campaign{ID: "later", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "o"}},
		Delay: rule.After(time.Hour), Exceptions: []rule.Exception{{Kind: event.Purchase}}}))
	require.NoError(t, e.Publish(bg, "later"))
	require.NoError(t, e.Publish(bg, "o"))
	for _, u := range []string{"u0", "u1", "u2", "u3"} {
		require.NoError(t, e.Track(bg, event.Event{UserID: u, Kind: event.PushOpened, CampaignID: "o"}))
		clk.Add(time.Millisecond) // due in this order
	}
	clk.Add(time.Hour)
	fired := false
	s.hook = func(users []string) {
		if fired || !slices.Contains(users, "u2") {
			return
		}
		st, err := s.Memory.User(bg, "", "u2")
		if err != nil {
			t.Error(err)
			return
		}
		if len(st.Pending) == 1 && st.Pending[0].Sending {
			// Right after u2's last check: the host shuts down, and a
			// purchase u2 made during the wait is reported.
			fired = true
			cancel()
			if err := e.Track(bg, event.Event{UserID: "u2", Kind: event.Purchase, Time: clk.Now().Add(-time.Second)}); err != nil {
				t.Error(err)
			}
		}
	}
	n, err := e.Tick(ctx)
	require.True(t, fired)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"u0/later#1", "u1/later#1"}, attempts)
	i := slices.IndexFunc(decisions, func(d rule.Decision) bool { return d.Kind == rule.Cancelled })
	require.GreaterOrEqual(t, i, 0, "a cancellation: %v", decisions)
	require.Equal(t, rule.ReasonException, decisions[i].Reason)
	require.Equal(t, "u2", decisions[i].UserID)
	s.hook = nil
	n, err = e.Tick(bg)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, "u3/later#1", attempts[2], "given back as it was: a first attempt")
	st, err := e.Stats(bg)
	require.NoError(t, err)
	require.Zero(t, st.Pending)
}

// commitFails is a memory store whose next update (single or batched) runs
// its function on a copy of the user's state and fails, as a SQL store
// whose commit fails after the function ran.
type commitFails struct {
	*store.Memory
	armed bool
}

var errCommit = errors.New("commit failed")

func (s *commitFails) fail(ctx context.Context, ns, userID string, fn func(*store.UserState, bool)) error {
	s.armed = false
	st, err := s.Memory.User(ctx, ns, userID)
	if err != nil {
		return err
	}
	c := st.Clone()
	fn(&c, false)
	return errCommit
}

func (s *commitFails) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if s.armed {
		return s.fail(ctx, ns, userID, fn)
	}
	return s.Memory.Update(ctx, ns, userID, now, dedup, fn)
}

func (s *commitFails) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if s.armed {
		for i := range ops {
			ops[i].Err = s.fail(ctx, ns, ops[i].UserID, ops[i].Fn)
		}
		return errCommit
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// TestTickConfirmNotStored checks that a delivery whose check ran but was
// not stored (the store failed after running it) is not sent, and is given
// back at once rather than when its lease ends.
func TestTickConfirmNotStored(t *testing.T) {
	clk := clock.NewMock()
	s := &commitFails{Memory: store.NewMemory()}
	var sent []string
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, d.UserID)
		return nil
	})
	e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1))
	require.NoError(t, err)
	dueFor(t, e, "u0", "u1", "u2")
	s.armed = true
	n, err := e.Tick(context.Background())
	require.ErrorIs(t, err, errCommit)
	require.Zero(t, n)
	require.Empty(t, sent, "nothing whose check was not stored is sent")
	n, err = e.Tick(context.Background()) // same instant: only a released claim can go
	require.NoError(t, err)
	require.Equal(t, 6, n, "%v", sent)
}
