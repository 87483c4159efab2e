package connector_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// batchSizes is a memory store that remembers the size of each batch of
// updates it gets.
type batchSizes struct {
	*store.Memory
	mu    sync.Mutex
	sizes []int
}

func (s *batchSizes) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(ops))
	s.mu.Unlock()
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

// TestTickGroupsFollowTheSender checks that a worker confirms and records
// its deliveries in groups that grow while the sender is fast, up to 32,
// and shrink when a group's sends take longer than 100 ms.
func TestTickGroupsFollowTheSender(t *testing.T) {
	for _, tc := range []struct {
		name        string
		perSend     time.Duration
		least, most int // the largest group
	}{
		{"instant sends", 0, 32, 32},
		{"30 ms sends", 30 * time.Millisecond, 2, 4},   // 2 (60 ms) stays; 4 (120 ms) halves
		{"120 ms sends", 120 * time.Millisecond, 1, 1}, // one at a time
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewMock()
			s := &batchSizes{Memory: store.NewMemory()}
			sent := 0
			send := connector.SenderFunc(func(context.Context, connector.Delivery) error {
				sent++
				clk.Add(tc.perSend)
				return nil
			})
			e, err := connector.New(s, send, connector.WithClock(clk), connector.WithSendConcurrency(1))
			require.NoError(t, err)
			var users []string
			for i := range 150 {
				users = append(users, fmt.Sprint("u", i))
			}
			dueFor(t, e, users...)
			s.sizes = nil
			n, err := e.Tick(context.Background())
			require.NoError(t, err)
			require.Equal(t, 300, n)
			require.Equal(t, 300, sent)
			largest := 1 // a group of one is an Update
			if len(s.sizes) > 0 {
				largest = slices.Max(s.sizes)
			}
			require.GreaterOrEqual(t, largest, tc.least, "%v", s.sizes)
			require.LessOrEqual(t, largest, tc.most, "%v", s.sizes)
		})
	}
}

// TestTickGroupFrequencyCap checks that a user's two deliveries due
// together, confirmed in the same group, pass a frequency cap of one a day
// only once: the cap counts the sends in progress.
func TestTickGroupFrequencyCap(t *testing.T) {
	clk := clock.NewMock()
	var got []string
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		got = append(got, d.UserID+" "+d.CampaignID)
		return nil
	})
	e, err := connector.New(store.NewMemory(), send, connector.WithClock(clk), connector.WithSendConcurrency(1),
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
}

// TestTickStoppedMidGroup checks that the deliveries of a group confirmed
// but not sent when Tick's context ends are given back as they were (same
// attempt, sent by the next Tick), or cancelled if an exception arrived
// meanwhile.
func TestTickStoppedMidGroup(t *testing.T) {
	clk := clock.NewMock()
	ctx, cancel := context.WithCancel(context.Background())
	var e *connector.Engine
	var attempts []string
	var decisions []rule.Decision
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		attempts = append(attempts, fmt.Sprint(d.UserID, "/", d.CampaignID, "#", d.Attempt))
		if len(attempts) == 2 { // the first of the second group (groups of 1, then 2)
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
	// The group's second delivery was confirmed, then not sent: the
	// exception that came meanwhile cancels it.
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
