package connector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// plainStore hides the memory store's UpdateBatch: TrackAll falls back to
// one Update per event. fail makes Update fail for one user.
type plainStore struct {
	store.Store
	fail string
}

func (s *plainStore) Update(ctx context.Context, ns, userID string, now time.Time, dedup store.Dedup, fn func(*store.UserState, bool)) error {
	if userID == s.fail {
		return errBroken
	}
	return s.Store.Update(ctx, ns, userID, now, dedup, fn)
}

var errBroken = errors.New("broken store")

// batchEvents is a mix of receipts, opens, retries and invalid events for
// 40 users, with the opens an hour after the receipts.
func batchEvents(t0 time.Time) []event.Event {
	var evs []event.Event
	for i := range 120 {
		user := fmt.Sprint("u", i%40)
		switch i % 6 {
		case 0, 1, 2:
			evs = append(evs, event.Event{ID: fmt.Sprint("r", i%40), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0})
		case 3:
			evs = append(evs, event.Event{UserID: user, Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0.Add(time.Hour)})
		case 4:
			evs = append(evs, event.Event{UserID: user, Kind: "no_such_kind"}) // invalid
		case 5:
			evs = append(evs, event.Event{UserID: user, Kind: event.EmailClicked, CampaignID: "newsletter", Time: t0})
		}
	}
	return evs
}

// TestTrackAllAsTrack checks that TrackAll leaves what Track leaves, event
// by event, with and without a store that takes batches, and reports the
// invalid events by index.
func TestTrackAllAsTrack(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	evs := batchEvents(t0)
	run := func(s store.Store, batch bool) (map[string][]string, error) {
		clk := clock.NewMock()
		clk.Set(t0.Add(2 * time.Hour))
		var decisions []string
		e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk,
			connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
				decisions = append(decisions, fmt.Sprint(d.UserID, " ", d.Kind, " ", d.Reason, " ", d.CampaignID))
			})))
		setupResend(t, e)
		var err error
		if batch {
			err = e.TrackAll(ctx, evs)
		} else {
			var errs []error
			for i, ev := range evs {
				if err := e.Track(ctx, ev); err != nil {
					errs = append(errs, &connector.TrackError{Index: i, Err: err})
				}
			}
			err = errors.Join(errs...)
		}
		out := map[string][]string{"decisions": decisions}
		for i := range 40 {
			user := fmt.Sprint("u", i)
			st, uerr := s.User(ctx, "", user)
			if errors.Is(uerr, store.ErrNotFound) {
				continue
			}
			require.NoError(t, uerr)
			for _, p := range st.Pending {
				out[user] = append(out[user], p.ID+" "+p.CampaignID+" "+p.DueAt.String())
			}
		}
		return out, err
	}
	want, wantErr := run(store.NewMemory(), false)
	require.NotEmpty(t, want["decisions"])
	for _, s := range []store.Store{store.NewMemory(), &plainStore{Store: store.NewMemory()}} {
		got, err := run(s, true)
		require.Equal(t, want, got, "%T", s)
		// The text gives the first ten events' errors and how many more.
		lines := strings.Split(wantErr.Error(), "\n")
		require.Len(t, lines, 20)
		require.Equal(t, strings.Join(lines[:10], "\n")+"\n… and 10 more errors", err.Error())
		var te *connector.TrackError
		require.ErrorAs(t, err, &te)
		require.Equal(t, 4, te.Index, "the first invalid event")
		require.ErrorIs(t, err, event.ErrUnknownKind)
		require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 20, "one error per invalid event")
	}
}

// TestTrackAllStoreFailure checks that an event the store fails on is
// reported, and that the others are tracked.
func TestTrackAllStoreFailure(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	s := &plainStore{Store: store.NewMemory(), fail: "bad"}
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk)
	setupResend(t, e)
	evs := []event.Event{
		{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "bad", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter"},
	}
	err := e.TrackAll(ctx, evs)
	var te *connector.TrackError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 1, te.Index)
	require.ErrorIs(t, err, errBroken)
	require.Contains(t, err.Error(), "connector: event 1: connector: track: broken store")
	for _, user := range []string{"ann", "bob"} {
		st, err := s.User(ctx, "", user)
		require.NoError(t, err, user)
		require.Len(t, st.Pending, 1, user)
	}
	require.NoError(t, e.TrackAll(ctx, nil), "an empty batch")
}

// TestTrackAllLogsInteractions checks that TrackAll logs every valid event
// as Track does (WithInteractionLog), in one store call, and that the
// events the caller handed over are left as they were.
func TestTrackAllLogsInteractions(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s := store.NewMemory()
	e := newEngine(t, s, connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clk,
		connector.WithInteractionLog(24*time.Hour))
	setupResend(t, e)
	evs := []event.Event{
		{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "ann", Kind: event.PushOpened, CampaignID: "other"}, // nothing listens: logged all the same
		{UserID: "", Kind: event.EmailOpened},                        // invalid: not logged
	}
	err := e.TrackAll(ctx, evs)
	var te *connector.TrackError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2, te.Index)
	require.True(t, evs[0].Time.IsZero(), "the caller's events are not modified")
	var logged []string
	require.NoError(t, s.Interactions(ctx, "", store.InteractionQuery{}, func(ev event.Event) bool {
		logged = append(logged, string(ev.Kind)+" "+ev.Time.Format(time.RFC3339))
		return true
	}))
	require.ElementsMatch(t, []string{"email_received 2026-03-02T09:00:00Z", "push_opened 2026-03-02T09:00:00Z"}, logged)
}

// spans counts the instrumentation's calls; batch adds StartTrackAll.
type spans struct {
	track, trackAll int
	ended           []error
}

func (s *spans) StartTrack(ctx context.Context, _ event.Event) (context.Context, func(error)) {
	s.track++
	return ctx, func(err error) { s.ended = append(s.ended, err) }
}

func (s *spans) StartSend(ctx context.Context, _ connector.Delivery) (context.Context, func(error)) {
	return ctx, func(error) {}
}

type batchSpans struct{ *spans }

func (s batchSpans) StartTrackAll(ctx context.Context, _ []event.Event) (context.Context, func(error)) {
	s.trackAll++
	return ctx, func(err error) { s.ended = append(s.ended, err) }
}

// TestTrackAllInstrumentation checks that TrackAll wraps each event in its
// own StartTrack with a plain Instrumentation, and the whole call in one
// StartTrackAll with a BatchInstrumentation.
func TestTrackAllInstrumentation(t *testing.T) {
	evs := []event.Event{
		{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"},
		{UserID: "bob", Kind: "not_a_kind"},
	}
	for _, batch := range []bool{false, true} {
		s := &spans{}
		var in connector.Instrumentation = s
		if batch {
			in = batchSpans{s}
		}
		e := newEngine(t, store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }),
			clock.NewMock(), connector.WithInstrumentation(in))
		setupResend(t, e)
		err := e.TrackAll(context.Background(), evs)
		require.ErrorIs(t, err, event.ErrUnknownKind)
		if batch {
			require.Equal(t, [2]int{0, 1}, [2]int{s.track, s.trackAll})
			require.Equal(t, []error{err}, s.ended)
		} else {
			require.Equal(t, [2]int{2, 0}, [2]int{s.track, s.trackAll})
			require.Len(t, s.ended, 2)
			require.NoError(t, s.ended[0])
			require.ErrorIs(t, s.ended[1], event.ErrUnknownKind)
		}
		st, serr := e.Stats(context.Background())
		require.NoError(t, serr)
		require.Equal(t, int64(1), st.Pending, "ann's resend is scheduled either way")
	}
}

// TestInstrumentationEndsWhenTrackPanics: an observer that panics during
// Track or TrackAll reaches the caller, and the operation's
// instrumentation is ended once, with an error, before it does.
func TestInstrumentationEndsWhenTrackPanics(t *testing.T) {
	ev := event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"}
	for _, batch := range []bool{false, true} {
		s := &spans{}
		var in connector.Instrumentation = s
		if batch {
			in = batchSpans{s}
		}
		boom := connector.ObserverFunc(func(d rule.Decision) {
			if d.Kind == rule.Scheduled {
				panic("observer bug")
			}
		})
		e := newEngine(t, store.NewMemory(), noop, clock.NewMock(), connector.WithInstrumentation(in), connector.WithObserver(boom))
		setupResend(t, e)
		require.PanicsWithValue(t, "observer bug", func() {
			if batch {
				_ = e.TrackAll(context.Background(), []event.Event{ev})
			} else {
				_ = e.Track(context.Background(), ev)
			}
		})
		require.Equal(t, 1, s.track+s.trackAll, "batch %v: one operation started", batch)
		require.Len(t, s.ended, 1, "batch %v: the operation is ended once", batch)
		require.ErrorContains(t, s.ended[0], "panicked")
	}
}

// TestTrackErrorsListsTheEventsNotTracked: TrackErrors finds every
// *TrackError of TrackAll's error, in index order, also once a host
// wrapped or joined it, and none in an error about no event.
func TestTrackErrorsListsTheEventsNotTracked(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), clock.NewMock())
	setupResend(t, e)
	evs := make([]event.Event, 2500) // three chunks of the batch
	for i := range evs {
		evs[i] = event.Event{UserID: fmt.Sprint("u", i), Kind: event.EmailReceived, CampaignID: "newsletter"}
	}
	bad := []int{3, 1024, 1030, 2499}
	for _, i := range bad {
		evs[i].UserID = ""
	}
	err := e.TrackAll(ctx, evs)
	indexes := func(err error) []int {
		var out []int
		for _, te := range connector.TrackErrors(err) {
			var ve *event.ValidationError
			require.ErrorAs(t, te, &ve)
			require.Equal(t, "user_id", ve.Field)
			out = append(out, te.Index)
		}
		return out
	}
	require.Equal(t, bad, indexes(err))
	require.Equal(t, bad, indexes(fmt.Errorf("consumer: page 7: %w", err)), "wrapped")
	require.Equal(t, bad, indexes(errors.Join(errors.New("acknowledging the page failed"), err)), "joined with another error")
	require.Nil(t, connector.TrackErrors(nil))
	require.Nil(t, connector.TrackErrors(errBroken), "an error about no event")
}

// TestTrackAllHandsDecisionsInOrder checks that observers get a batch's
// decisions in the order of its events, as from Track on each in turn:
// an event naming an unknown campaign, which the store never sees, is
// reported after the decisions of the events before it.
func TestTrackAllHandsDecisionsInOrder(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // the follow-up's activation
	t1 := t0.Add(time.Second)
	events := []event.Event{
		{ID: "a", UserID: "u1", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t1},
		{ID: "b", UserID: "u1", Kind: event.EmailOpened, CampaignID: "nwsletter", Time: t1}, // a typo
		{ID: "c", UserID: "u2", Kind: event.EmailOpened, CampaignID: "nwsletter", Time: t1},
		{ID: "d", UserID: "u2", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t1},
		{ID: "e", UserID: "u1", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t1.Add(time.Minute)},
	}
	for _, logged := range []bool{false, true} {
		t.Run(fmt.Sprint("interaction log ", logged), func(t *testing.T) {
			run := func(batch bool) []string {
				clk := clock.NewMock()
				clk.Set(t0)
				var seen []string
				opts := []connector.Option{connector.WithClock(clk), connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
					seen = append(seen, fmt.Sprintf("%s %s %s/%s", d.UserID, d.EventID, d.Kind, d.Reason))
				}))}
				if logged {
					opts = append(opts, connector.WithInteractionLog(24*time.Hour))
				}
				e, err := connector.New(store.NewMemory(), connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil }), opts...)
				require.NoError(t, err)
				require.NoError(t, e.Apply(ctx, resendCampaigns))
				clk.Add(time.Hour)
				seen = nil
				if batch {
					require.NoError(t, e.TrackAll(ctx, events))
				} else {
					for _, ev := range events {
						require.NoError(t, e.Track(ctx, ev))
					}
				}
				return seen
			}
			want := run(false)
			require.Len(t, want, 5, "one decision per event: %v", want)
			require.Equal(t, want, run(true))
		})
	}
}
