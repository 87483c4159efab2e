package connector_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// failingBatches is the memory store whose failCall-th UpdateBatch call
// fails as a SQL store's transaction does (an I/O error, a lost
// connection): every op of the call gets the error, none is applied. Its
// failLog-th AppendInteractions call and failRev-th Revision call fail
// too.
type failingBatches struct {
	*store.Memory
	calls, failCall int
	logs, failLog   int
	logErr          error // the log's failure: errBroken when nil
	revs, failRev   int
}

func (s *failingBatches) Revision(ctx context.Context, ns string) (int64, error) {
	s.revs++
	if s.revs == s.failRev {
		return 0, errBroken
	}
	return s.Memory.Revision(ctx, ns)
}

func (s *failingBatches) AppendInteractions(ctx context.Context, ns string, evs []event.Event, until time.Time) error {
	s.logs++
	if s.logs == s.failLog {
		return cmp.Or(s.logErr, errBroken)
	}
	return s.Memory.AppendInteractions(ctx, ns, evs, until)
}

func (s *failingBatches) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	s.calls++
	if s.calls == s.failCall {
		for i := range ops {
			ops[i].Err = errBroken
		}
		return errBroken
	}
	return s.Memory.UpdateBatch(ctx, ns, ops)
}

// orderBatch is a batch of more than two of TrackAll's chunks (1,024
// events each): bob's receipt in the first, ann's receipt in the second
// and ann's open of it, a minute later, in the third; the rest are events
// nothing listens to.
func orderBatch(t0 time.Time) (evs []event.Event, annReceipt, annOpen int) {
	for i := range 2100 {
		evs = append(evs, event.Event{ID: fmt.Sprint("x", i), UserID: fmt.Sprint("u", i), Kind: event.CustomEvent, Name: "page_view", Time: t0})
	}
	annReceipt, annOpen = 1500, 2090
	evs[0] = event.Event{ID: "r-bob", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
	evs[annReceipt] = event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
	evs[annOpen] = event.Event{ID: "o-ann", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0.Add(time.Minute)}
	return evs, annReceipt, annOpen
}

// A store failure in one of TrackAll's chunks fails the later events of
// the users it failed, untried: the events of one user are applied in
// slice order, so that a host tracking the failed events again (or the
// whole batch, by their IDs) has ann's open, which follows her receipt,
// cancel the resend the receipt schedules. Applied while the receipt
// failed, the open would find nothing to cancel, and the retried receipt
// would schedule a resend to a user who opened. The same holds when the
// interaction log, or the look-up of the campaigns' revision, fails the
// second chunk.
func TestTrackAllStoreFailureKeepsEachUsersOrder(t *testing.T) {
	for _, retry := range []string{"failed events", "whole batch", "interaction log", "revision"} {
		t.Run(retry, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			s := &failingBatches{Memory: store.NewMemory()}
			opts := []connector.Option{connector.WithDecisionLog(100, 30*24*time.Hour)}
			if retry == "interaction log" {
				opts = append(opts, connector.WithInteractionLog(30*24*time.Hour))
			}
			e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk, opts...)
			setupResend(t, e)
			switch retry {
			case "interaction log":
				s.failLog = 2 // the second chunk's
			case "revision":
				s.revs, s.failRev = 0, 2 // the second chunk's
			default:
				s.calls, s.failCall = 0, 2 // the second chunk's store call
			}
			evs, annReceipt, annOpen := orderBatch(clk.Now())

			err := e.TrackAll(ctx, evs)
			require.ErrorIs(t, err, errBroken)
			failed := brokenIndexes(t, err)
			want := []int{annReceipt, annOpen}
			if retry == "interaction log" || retry == "revision" { // the second chunk failed whole
				want = nil
				for i := 1024; i < 2048; i++ {
					want = append(want, i)
				}
				want = append(want, annOpen)
			}
			require.Equal(t, want, failed, "the receipt failed, and the open after it was not tried")
			_, err = s.User(ctx, "", "ann")
			require.ErrorIs(t, err, store.ErrNotFound, "nothing of ann's is stored")

			clk.Add(time.Minute)
			again := evs
			if retry != "whole batch" {
				again = nil
				for _, i := range failed {
					again = append(again, evs[i])
				}
			}
			require.NoError(t, e.TrackAll(ctx, again))

			requireResends(t, s, map[string]int{"ann": 0, "bob": 1})
			annState, err := s.User(ctx, "", "ann")
			require.NoError(t, err)
			require.True(t, slices.ContainsFunc(annState.Log, func(d rule.Decision) bool { return d.Kind == rule.Cancelled && d.Reason == rule.ReasonException }),
				"ann's open cancelled the resend: %+v", annState.Log)
		})
	}
}

// failingOnce hides the memory store's UpdateBatch, and fails the first
// Update of one user, as a transient store failure would.
type failingOnce struct {
	store.Store
	user   string
	failed bool
}

func (s *failingOnce) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if userID == s.user && !s.failed {
		s.failed = true
		return errBroken
	}
	return s.Store.Update(ctx, ns, userID, now, dedup, fn)
}

// With a store that does not take batches, TrackAll makes one Update per
// event: one that fails fails the user's later events of the batch
// untried, with its error, so that tracking the failed events again
// applies them in order.
func TestTrackAllWithoutBatchesKeepsEachUsersOrder(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s := &failingOnce{Store: store.NewMemory(), user: "ann"}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk)
	setupResend(t, e)
	evs := receiptsAndOpen(clk.Now())
	err := e.TrackAll(ctx, evs)
	failed := brokenIndexes(t, err)
	require.Equal(t, []int{0, 2}, failed, "the receipt failed, and the open after it was not tried")

	clk.Add(time.Minute)
	require.NoError(t, e.TrackAll(ctx, evs), "the whole batch again")
	requireResends(t, s, map[string]int{"ann": 0, "bob": 1})
}

// With an Instrumentation that is not a BatchInstrumentation, TrackAll
// calls Track for each event, each in its own span: a store failure (an
// update's, the interaction log's) still fails the user's later events
// untried, with its error, so that tracking the failed events again
// applies them in order, as without instrumentation.
func TestTrackAllPerEventSpansKeepEachUsersOrder(t *testing.T) {
	for _, fails := range []string{"update", "interaction log"} {
		t.Run(fails, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			var s store.Store = &failingOnce{Store: store.NewMemory(), user: "ann"}
			sp := &spans{}
			opts := []connector.Option{connector.WithInstrumentation(sp)}
			if fails == "interaction log" {
				s = &failingBatches{Memory: store.NewMemory(), failLog: 1} // ann's receipt's
				opts = append(opts, connector.WithInteractionLog(30*24*time.Hour))
			}
			e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk, opts...)
			setupResend(t, e)
			evs := receiptsAndOpen(clk.Now())
			err := e.TrackAll(ctx, evs)
			failed := brokenIndexes(t, err)
			require.Equal(t, []int{0, 2}, failed, "the receipt failed, and the open after it was not tried")
			require.Equal(t, 3, sp.track, "a span per event")
			require.ErrorIs(t, sp.ended[2], errBroken, "the open's span ends with its error")

			clk.Add(time.Minute)
			require.NoError(t, e.TrackAll(ctx, []event.Event{evs[0], evs[2]}), "the failed events again")
			requireResends(t, s, map[string]int{"ann": 0, "bob": 1})
		})
	}
}

// After a store failure fails a user's event, the user's later events
// that nothing listens to are tracked, unless WithDedupAll has their IDs
// remembered: that is an update, left untried with the user's others.
func TestTrackAllStoreFailureLeavesRememberedIDsUntried(t *testing.T) {
	for _, dedupAll := range []bool{false, true} {
		clk := clock.NewMock()
		clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		var opts []connector.Option
		if dedupAll {
			opts = append(opts, connector.WithDedupAll())
		}
		e := newEngine(t, &failingOnce{Store: store.NewMemory(), user: "ann"}, noop, clk, opts...)
		setupResend(t, e)
		t0 := clk.Now()
		err := e.TrackAll(context.Background(), []event.Event{
			{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0},
			{ID: "v-ann", UserID: "ann", Kind: event.CustomEvent, Name: "page_view", Time: t0},
			{ID: "o-ann", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0.Add(time.Minute)},
		})
		failed := brokenIndexes(t, err)
		want := []int{0, 2}
		if dedupAll {
			want = []int{0, 1, 2}
		}
		require.Equal(t, want, failed, "WithDedupAll: %v", dedupAll)
	}
}

// An event left untried after its user's earlier event failed is not
// written to the interaction log either: tracked again, it is logged once.
// (The failed event itself was logged before its update failed, and is
// logged again with its retry.)
func TestTrackAllUntriedEventsAreNotLogged(t *testing.T) {
	for _, path := range []string{"batch", "per-event spans"} {
		t.Run(path, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			opts := []connector.Option{connector.WithInteractionLog(30 * 24 * time.Hour), connector.WithDecisionLog(100, 30*24*time.Hour)}
			var s store.Store
			evs, annReceipt, annOpen := orderBatch(clk.Now())
			if path == "batch" {
				s = &failingBatches{Memory: store.NewMemory(), failCall: 2} // the second chunk's update
			} else {
				s = &failingOnce{Store: store.NewMemory(), user: "ann"} // ann's receipt's update
				opts = append(opts, connector.WithInstrumentation(&spans{}))
			}
			e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk, opts...)
			setupResend(t, e)
			if fb, ok := s.(*failingBatches); ok {
				fb.calls = 0
			}

			err := e.TrackAll(ctx, evs)
			require.ErrorIs(t, err, errBroken)
			var failed []event.Event
			untried := false
			for _, te := range connector.TrackErrors(err) {
				failed = append(failed, evs[te.Index])
				untried = untried || te.Index == annOpen
			}
			require.True(t, untried, "ann's open was left untried")
			require.Equal(t, 0, logged(t, s, "o-ann"), "the untried open is not logged")
			require.Equal(t, 1, logged(t, s, evs[annReceipt].ID), "the failed receipt was logged before its update failed")

			clk.Add(time.Minute)
			require.NoError(t, e.TrackAll(ctx, failed))
			require.Equal(t, 1, logged(t, s, "o-ann"), "the open, tracked again, is logged once")
			st, err := s.User(ctx, "", "ann")
			require.NoError(t, err)
			require.Empty(t, st.Pending, "ann's resends")
			require.True(t, slices.ContainsFunc(st.Log, func(d rule.Decision) bool { return d.Kind == rule.Cancelled && d.Reason == rule.ReasonException }),
				"ann's open cancelled the resend: %+v", st.Log)
		})
	}
}

// logged counts the interaction log's entries with event ID id.
func logged(t *testing.T, s store.Store, id string) int {
	t.Helper()
	n := 0
	err := s.Interactions(context.Background(), "", store.InteractionQuery{}, func(ev event.Event) bool {
		if ev.ID == id {
			n++
		}
		return true
	})
	require.NoError(t, err)
	return n
}

// When the interaction log fails a chunk in which a user's event was left
// untried (an earlier event of the user failed its update), the untried
// event fails with that earlier failure, which left it untried; the
// chunk's other events fail with the log's.
func TestTrackAllUntriedEventKeepsItsFailureWhenTheLogFails(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	errLog := errors.New("log down")
	s := &failingBatches{Memory: store.NewMemory(), logErr: errLog}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk,
		connector.WithInteractionLog(30*24*time.Hour))
	setupResend(t, e)
	s.calls, s.failCall = 0, 2 // the second chunk's update
	s.logs, s.failLog = 0, 3   // the third chunk's log
	evs, annReceipt, annOpen := orderBatch(clk.Now())

	err := e.TrackAll(ctx, evs)
	got := map[int]error{}
	for _, te := range connector.TrackErrors(err) {
		got[te.Index] = te.Err
	}
	require.ErrorIs(t, got[annReceipt], errBroken, "ann's receipt: its update failed")
	require.ErrorIs(t, got[annOpen], errBroken, "ann's open: left untried by her receipt's failure")
	require.NotErrorIs(t, got[annOpen], errLog)
	require.ErrorIs(t, got[2048], errLog, "another event of the third chunk: the log's failure")
}

// brokenIndexes returns the indexes of err's TrackErrors, requiring each
// to wrap errBroken.
func brokenIndexes(t *testing.T, err error) []int {
	t.Helper()
	var failed []int
	for _, te := range connector.TrackErrors(err) {
		require.ErrorIs(t, te.Err, errBroken, "event %d", te.Index)
		failed = append(failed, te.Index)
	}
	return failed
}

// requireResends requires each user to have want pending deliveries (a
// user the store does not know has none).
func requireResends(t *testing.T, s store.Store, want map[string]int) {
	t.Helper()
	for user, n := range want {
		st, err := s.User(context.Background(), "", user)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		require.NoError(t, err)
		require.Len(t, st.Pending, n, "%s's resends", user)
	}
}

// receiptsAndOpen is ann's and bob's receipts of the newsletter at t0,
// then ann's open of it a minute later.
func receiptsAndOpen(t0 time.Time) []event.Event {
	return []event.Event{
		{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0},
		{ID: "r-bob", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0},
		{ID: "o-ann", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0.Add(time.Minute)},
	}
}
