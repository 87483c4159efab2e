// Package trackorder plays, on a durable store, a TrackAll of more than
// two of the engine's chunks (1,024 events each, one store transaction
// each) whose middle chunk the store fails, for the tests of each
// durable store: the events the failure touches fail, with the later
// events of their users, untried, and tracking the failed events again
// (or the whole batch) applies each user's events in slice order: a
// receipt, then the open that cancels the resend it schedules.
//
// A store's tests hand in how to break the store for one call and mend
// it after ([Failure]), and what the failure's error is.
package trackorder

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

// Failure says how a store's test breaks its store during one call of the
// second chunk of the batch, and what breaking it does.
type Failure struct {
	// Log breaks the second AppendInteractions call (the engine then
	// keeps an interaction log) rather than the second UpdateBatch call.
	Log bool
	// Break breaks the store before the call; Mend mends it once the
	// call returns.
	Break, Mend func(t *testing.T)
	// Is reports whether err is the failure Break causes.
	Is func(err error) bool
	// Refused says that the failure refuses only the data of ann's
	// receipt (PostgreSQL's data errors), rather than failing the whole
	// transaction.
	Refused bool
}

// The events of the batch ([Batch]) whose users have more than one.
const (
	DanReceipt = 10   // first chunk
	CatReceipt = 1100 // second chunk
	AnnReceipt = 1500 // second chunk
	CatOpen    = 2080 // third chunk
	DanOpen    = 2085
	AnnOpen    = 2090
	AnnView    = 2095 // nothing listens to it
	size       = 2100
)

// Batch returns the batch, at t0: a receipt of the newsletter for every
// tenth event, of a user of its own, and page views nothing listens to
// for the others, of users of their own too; ann, cat and dan receive the
// newsletter, then open it a minute later in the third chunk, ann and
// cat in the second chunk, dan in the first; ann also views a page after
// her open.
func Batch(t0 time.Time) []event.Event {
	evs := make([]event.Event, size)
	for i := range evs {
		user := fmt.Sprint("u", i)
		if i%10 == 0 {
			evs[i] = receipt(user, t0)
		} else {
			evs[i] = event.Event{ID: "v-" + user, UserID: user, Kind: event.CustomEvent, Name: "page_view", Time: t0}
		}
	}
	evs[DanReceipt], evs[CatReceipt], evs[AnnReceipt] = receipt("dan", t0), receipt("cat", t0), receipt("ann", t0)
	evs[DanOpen], evs[CatOpen], evs[AnnOpen] = open("dan", t0), open("cat", t0), open("ann", t0)
	evs[AnnView] = event.Event{ID: "v-ann", UserID: "ann", Kind: event.CustomEvent, Name: "page_view", Time: t0.Add(2 * time.Minute)}
	return evs
}

func receipt(user string, t0 time.Time) event.Event {
	return event.Event{ID: "r-" + user, UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}
}

func open(user string, t0 time.Time) event.Event {
	return event.Event{ID: "o-" + user, UserID: user, Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0.Add(time.Minute)}
}

// receipts reports whether ev is a receipt.
func receipts(ev event.Event) bool { return ev.Kind == event.EmailReceived }

// breaking is the store under test, broken for its at-th UpdateBatch (or
// AppendInteractions) call.
type breaking struct {
	store.Store
	t     *testing.T
	f     Failure
	calls int
	at    int // 0: not armed
}

func (b *breaking) call() (mend func()) {
	b.calls++
	if b.calls != b.at {
		return func() {}
	}
	b.f.Break(b.t)
	return func() { b.f.Mend(b.t) }
}

func (b *breaking) UpdateBatch(ctx context.Context, ns string, ops []store.Op) error {
	if !b.f.Log {
		defer b.call()()
	}
	return b.Store.(store.BatchUpdater).UpdateBatch(ctx, ns, ops)
}

func (b *breaking) AppendInteractions(ctx context.Context, ns string, evs []event.Event, until time.Time) error {
	if b.f.Log {
		defer b.call()()
	}
	return b.Store.AppendInteractions(ctx, ns, evs, until)
}

// Play tracks [Batch] on s, which f breaks for the second chunk's store
// call, then tracks again the failed events, or the whole batch when
// whole is set. It requires the failure to fail the second chunk's events
// that have something to store (only ann's receipt when f.Refused), and,
// untried with the same error, the later events of their users (the
// opens of ann and cat, not ann's page view); then, once tracked again,
// each receipt to have scheduled one resend, those of ann, cat and dan
// cancelled by their opens, with the decision log, Explain and the store
// agreeing, and nothing applied twice.
func Play(t *testing.T, s store.Store, f Failure, whole bool) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	var (
		mu        sync.Mutex
		decisions = map[string][]rule.Decision{} // by user, about resend
	)
	observe := connector.ObserverFunc(func(d rule.Decision) {
		if d.CampaignID != "resend" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		decisions[d.UserID] = append(decisions[d.UserID], d)
	})
	b := &breaking{Store: s, t: t, f: f}
	opts := []connector.Option{connector.WithClock(clk), connector.WithObserver(observe), connector.WithDecisionLog(100, 30*24*time.Hour)}
	if f.Log {
		opts = append(opts, connector.WithInteractionLog(30*24*time.Hour))
	}
	e, err := connector.New(b, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), opts...)
	require.NoError(t, err)
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		Message:    []byte(`{"subject":"In case you missed it"}`),
	}))
	require.NoError(t, e.Publish(ctx, "newsletter"))
	require.NoError(t, e.Publish(ctx, "resend"))

	evs := Batch(clk.Now())
	var want []int // what the failure touches, and the later events of its users
	switch {
	case f.Refused:
		want = []int{AnnReceipt, AnnOpen}
	default:
		for i := chunk; i < 2*chunk; i++ {
			if f.Log || receipts(evs[i]) { // with the log, every event has something to store
				want = append(want, i)
			}
		}
		want = append(want, CatOpen, AnnOpen)
	}
	b.at = 2
	err = e.TrackAll(ctx, evs)
	b.at = 0
	require.Error(t, err)
	var failed []int
	byIndex := map[int]error{}
	for _, te := range connector.TrackErrors(err) {
		require.True(t, f.Is(te.Err), "event %d: %v", te.Index, te.Err)
		failed = append(failed, te.Index)
		byIndex[te.Index] = te.Err
	}
	require.Equal(t, want, failed, "the failed events and the later events of their users")
	require.Equal(t, byIndex[AnnReceipt].Error(), byIndex[AnnOpen].Error(), "ann's open fails with her receipt's error")
	require.Equal(t, byIndex[CatOpen] == nil, f.Refused)
	for _, user := range []string{"ann", "cat"} {
		if user == "cat" && f.Refused {
			continue
		}
		_, err := s.User(ctx, "", user)
		require.ErrorIs(t, err, store.ErrNotFound, "nothing of %s's is stored", user)
	}
	dan, err := s.User(ctx, "", "dan")
	require.NoError(t, err)
	require.Empty(t, dan.Pending, "dan's open, in the third chunk, cancelled his resend")

	clk.Add(time.Minute)
	again := evs
	if !whole {
		again = nil
		for _, i := range failed {
			again = append(again, evs[i])
		}
	}
	require.NoError(t, e.TrackAll(ctx, again), "tracked again")

	receivers := 0
	for i, ev := range evs {
		if !receipts(ev) {
			continue
		}
		receivers++
		user := ev.UserID
		kinds := kindsOf(decisions[user])
		wantKinds := []rule.DecisionKind{rule.Scheduled}
		if user == "ann" || user == "cat" || user == "dan" {
			wantKinds = append(wantKinds, rule.Cancelled)
		}
		require.Equal(t, wantKinds, kinds, "%s's decisions (event %d)", user, i)
		if i%100 != 0 && user != "ann" && user != "cat" && user != "dan" {
			continue // Explain a sample: a read per user
		}
		x, err := e.Explain(ctx, user, "resend")
		require.NoError(t, err)
		require.Equal(t, kinds, kindsOf(x.Decisions), "%s: the decision log agrees with the observer", user)
		require.Len(t, x.Pending, 2-len(wantKinds), "%s's pending resends", user)
		if len(wantKinds) == 2 {
			require.True(t, slices.ContainsFunc(x.Decisions, func(d rule.Decision) bool {
				return d.Kind == rule.Cancelled && d.Reason == rule.ReasonException && d.EventID == "o-"+user
			}), "%s's open cancelled the resend: %+v", user, x.Decisions)
		}
	}
	st, err := e.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, receivers-3, st.Pending, "one resend pending per receiver but ann, cat and dan")
}

// chunk is TrackAll's chunk: 1,024 events.
const chunk = 1024

// kindsOf lists the kinds of ds but duplicates (the whole batch tracked
// again repeats the events tracked the first time).
func kindsOf(ds []rule.Decision) []rule.DecisionKind {
	var out []rule.DecisionKind
	for _, d := range ds {
		if d.Kind != rule.Duplicate {
			out = append(out, d.Kind)
		}
	}
	return slices.Clip(out)
}

// Is returns a Failure's Is that finds target in the error (errors.Is).
func Is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}
