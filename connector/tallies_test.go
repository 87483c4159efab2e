package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

var nopSender = connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })

// tallyEngine returns an engine on s with a follow-up "resend", due an
// hour after the user receives "news" and cancelled if they open it.
func tallyEngine(t *testing.T, s store.Store, opts ...connector.Option) *connector.Engine {
	t.Helper()
	e, err := connector.New(s, nopSender, append([]connector.Option{connector.WithSendConcurrency(1)}, opts...)...)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "news"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend", Delay: rule.After(time.Hour),
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}}))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "news"))
	return e
}

// mockClock is an engine clock that moves only when told, set to a
// Monday morning: tests that count a store's calls get no flush on a
// timer of the real clock's.
func mockClock() connector.Option {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	return connector.WithClock(clk)
}

func received(user string) event.Event {
	return event.Event{UserID: user, Kind: event.EmailReceived, CampaignID: "news"}
}

// scheduledCount returns the count of scheduled resends a tally list holds.
func scheduledCount(ts []store.Tally) int64 {
	var n int64
	for _, x := range ts {
		if x.CampaignID == "resend" && x.Kind == rule.Scheduled {
			n += x.Count
		}
	}
	return n
}

// storedTallies reads the store's tallies directly: what the engine
// flushed, not what it holds.
func storedTallies(t *testing.T, s store.Tallier) []store.Tally {
	t.Helper()
	got, err := s.Tallies(context.Background(), "", store.TallyQuery{})
	require.NoError(t, err)
	return got
}

func TestTalliesCountPerHour(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := tallyEngine(t, store.NewMemory(), connector.WithClock(clk))
	clk.Set(time.Date(2026, 3, 2, 10, 59, 59, 0, time.UTC))
	require.NoError(t, e.Track(ctx, received("a1")))
	clk.Add(time.Second)
	require.NoError(t, e.Track(ctx, received("b1")))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "a1", Kind: event.EmailOpened, CampaignID: "news"}))
	clk.Set(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)) // the clock steps back: a decision of an earlier hour, counted after
	require.NoError(t, e.Track(ctx, received("c1")))
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	require.Equal(t, []store.Tally{
		{Hour: at(10), CampaignID: "resend", Kind: rule.Scheduled, Count: 2},
		{Hour: at(11), CampaignID: "resend", Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: `email_opened of "news"`, Count: 1},
		{Hour: at(11), CampaignID: "resend", Kind: rule.Scheduled, Count: 1},
	}, got)
	got, err = e.Tallies(ctx, store.TallyQuery{Since: at(11), CampaignID: "resend"})
	require.NoError(t, err)
	require.Len(t, got, 2, "the query is the store's")
}

func TestTallyRetentionPrunesHoursPastIt(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	e := tallyEngine(t, store.NewMemory(), connector.WithClock(clk), connector.WithTallyRetention(2*time.Hour))
	hours := func() []int {
		got, err := e.Tallies(ctx, store.TallyQuery{})
		require.NoError(t, err)
		var out []int
		for _, x := range got {
			if x.Kind == rule.Scheduled {
				out = append(out, x.Hour.Hour())
			}
		}
		return out
	}
	for i, u := range []string{"u1", "u2", "u3"} { // at 09:30, 10:30, 11:30
		require.NoError(t, e.Track(ctx, received(u)))
		require.Equal(t, []int{9, 10, 11}[:i+1], hours())
		clk.Add(time.Hour)
	}
	clk.Set(time.Date(2026, 3, 2, 11, 59, 0, 0, time.UTC))
	_, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{9, 10, 11}, hours(), "hour 9 ended 1 h 59 min ago")
	clk.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{10, 11}, hours(), "hour 9 ended 2 h ago")
	clk.Set(time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC))
	_, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, []int{11}, hours())

	_, err = connector.New(store.NewMemory(), nopSender, connector.WithTallyRetention(0))
	require.ErrorIs(t, err, connector.ErrInvalidOption)
	_, err = connector.New(store.NewMemory(), nopSender, connector.WithTallyRetention(time.Hour), connector.WithoutTallies())
	require.ErrorIs(t, err, connector.ErrInvalidOption, "a retention for tallies that are off")
}

// TestWithoutTalliesTheEngineCountsNothing checks that an engine with
// tallies off counts nothing but reads what other engines count.
func TestWithoutTalliesTheEngineCountsNothing(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	off := tallyEngine(t, s, connector.WithoutTallies())
	require.NoError(t, off.Track(ctx, received("u1")))
	got, err := off.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Empty(t, got)
	on, err := connector.New(s, nopSender)
	require.NoError(t, err)
	require.NoError(t, on.Track(ctx, received("u2")))
	_, err = on.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	got, err = off.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, int64(1), scheduledCount(got), "the other engine's count, from the store")
}

func TestReadsTheStoreCannotServeAreNotSupported(t *testing.T) {
	ctx := context.Background()
	e := tallyEngine(t, &plainStore{Store: store.NewMemory()}) // hides what the store implements beyond store.Store
	require.NoError(t, e.Track(ctx, received("u1")), "tracking needs no tallies")
	_, err := e.Tallies(ctx, store.TallyQuery{})
	require.ErrorIs(t, err, connector.ErrNotSupported)
	_, err = e.PendingDeliveries(ctx, store.PendingQuery{})
	require.ErrorIs(t, err, connector.ErrNotSupported)
}

// TestConcurrentTracksAreCountedExactly tracks from several goroutines
// while another flushes over and over: every decision is counted once.
func TestConcurrentTracksAreCountedExactly(t *testing.T) {
	ctx := context.Background()
	e := tallyEngine(t, store.NewMemory())
	const workers, each = 6, 150
	var wg sync.WaitGroup
	stop := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		var err error
		for {
			select {
			case <-stop:
				flushed <- err
				return
			default:
			}
			if _, e := e.Tallies(ctx, store.TallyQuery{}); e != nil {
				err = e
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := e.Track(ctx, received(fmt.Sprintf("u%d-%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	require.NoError(t, <-flushed)
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, int64(workers*each), scheduledCount(got))
}

func TestPendingDeliveriesPageInDueOrder(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e := tallyEngine(t, store.NewMemory(), connector.WithClock(clk))
	for _, u := range []string{"u3", "u1", "u2"} {
		require.NoError(t, e.Track(ctx, received(u)))
		clk.Add(time.Minute)
	}
	users := func(cs []store.Claim) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.UserID)
		}
		return out
	}
	all, err := e.PendingDeliveries(ctx, store.PendingQuery{})
	require.NoError(t, err)
	require.Equal(t, []string{"u3", "u1", "u2"}, users(all), "a zero limit takes the default page")
	first, err := e.PendingDeliveries(ctx, store.PendingQuery{CampaignID: "resend", Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"u3", "u1"}, users(first))
	last := first[1].Pending
	next, err := e.PendingDeliveries(ctx, store.PendingQuery{CampaignID: "resend", AfterDue: last.DueAt, AfterID: last.ID, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"u2"}, users(next))
	_, err = e.PendingDeliveries(ctx, store.PendingQuery{Limit: -1})
	require.ErrorIs(t, err, store.ErrInvalidQuery)
}

// TestARecordRetriedAfterAStoreErrorIsCountedOnce checks that a send whose
// record failed and was stored on a retry (at once, alone, or after a
// backoff) is counted once, as the observers see it.
func TestARecordRetriedAfterAStoreErrorIsCountedOnce(t *testing.T) {
	for _, times := range []int{1, 3} {
		t.Run(fmt.Sprintf("failing %d times", times), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				clk := clock.NewMock()
				s := &recordFails{Memory: store.NewMemory(), who: "u3", times: times}
				e, err := connector.New(s, &recorder{}, connector.WithClock(clk), connector.WithSendConcurrency(1))
				require.NoError(t, err)
				dueFor(t, e, "u1", "u2", "u3", "u4")
				_, err = tickSettled(e, clk, 10*time.Millisecond) // the retry's backoff
				require.NoError(t, err)
				require.Zero(t, s.times, "the record failed as often as planned")
				got, err := e.Tallies(ctx, store.TallyQuery{})
				require.NoError(t, err)
				delivered := map[string]int64{}
				for _, x := range got {
					if x.Kind == rule.Delivered {
						delivered[x.CampaignID] += x.Count
					}
				}
				require.Equal(t, map[string]int64{"now": 4, "also": 4}, delivered)
			})
		})
	}
}

// lateCancels is a memory store whose CancelCampaign (and batch) has not reached the
// deliveries yet: they stay, from an earlier activation.
type lateCancels struct{ *store.Memory }

func (lateCancels) CancelCampaign(context.Context, string, string) ([]store.Claim, error) {
	return nil, nil
}

func (lateCancels) CancelCampaignBatch(context.Context, string, string, string, int) ([]store.Claim, string, error) {
	return nil, "", nil
}

// TestStaleDeliveriesDroppedLaterAreCounted checks the cancellations of
// deliveries left from an earlier activation: dropped by the user's next
// event, or at their send.
func TestStaleDeliveriesDroppedLaterAreCounted(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var seen []rule.Decision
	e := tallyEngine(t, lateCancels{store.NewMemory()}, connector.WithClock(clk),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) { seen = append(seen, d) })))
	require.NoError(t, e.Track(ctx, received("u1")))
	require.NoError(t, e.Track(ctx, received("u2")))
	require.NoError(t, e.Stop(ctx, "resend"))
	require.NoError(t, e.Publish(ctx, "resend"))
	require.NoError(t, e.Track(ctx, received("u1"))) // drops u1's delivery of the first activation
	clk.Add(2 * time.Hour)
	_, err := e.Tick(ctx) // drops u2's at its send, sends u1's new one
	require.NoError(t, err)
	got, err := e.Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	require.Equal(t, tallyOf(seen), tallyLines(got))
	require.Contains(t, tallyLines(got), `Mar 2 11h resend cancelled/campaign_stopped "" ×1`, "at the send")
	require.Contains(t, tallyLines(got), `Mar 2 09h resend cancelled/campaign_stopped "" ×1`, "by the event")
}
