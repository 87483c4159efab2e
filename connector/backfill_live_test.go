package connector_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/store"
)

// duringBackfill is a memory store that runs hook once, when a backfill
// first reads the interaction log: what another replica tracks while the
// backfill runs.
type duringBackfill struct {
	*store.Memory
	once sync.Once
	hook func()
}

func (s *duringBackfill) Interactions(ctx context.Context, ns string, q store.InteractionQuery, fn func(event.Event) bool) error {
	s.once.Do(s.hook)
	return s.Memory.Interactions(ctx, ns, q, fn)
}

// sentTo collects the users a sender was called for.
type sentTo struct {
	mu    sync.Mutex
	users []string
}

func (s *sentTo) Send(_ context.Context, d connector.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, d.UserID)
	return nil
}

func (s *sentTo) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

// TestAnExceptionTrackedDuringTheBackfillCancelsWhatItReplays: an
// exception tracked after the activation is stored, but before the
// backfill replays the trigger it follows (here by another replica),
// happened while the user waited (as if the follow-up had been active since the backfill's
// start): it cancels the backfilled delivery, however the two races.
func TestAnExceptionTrackedDuringTheBackfillCancelsWhatItReplays(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	send := &sentTo{}
	s := &duringBackfill{Memory: store.NewMemory()}
	e := newEngine(t, s, send, clk, connector.WithInteractionLog(30*day), connector.WithDecisionLog(100, 30*day))
	draftResend(t, e)
	t0 := clk.Now()
	require.NoError(t, e.Track(ctx, event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}))
	require.NoError(t, e.Track(ctx, event.Event{ID: "r-bob", UserID: "bob", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}))
	clk.Add(day)
	replica := newEngine(t, s, send, clk, connector.WithInteractionLog(30*day))
	s.hook = func() {
		// Ann opens the newsletter on day 2, after the activation, on
		// another replica: she waited since day 1, so the open cancels
		// her resend.
		require.NoError(t, replica.Track(ctx, event.Event{ID: "o-ann", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter", Time: clk.Now()}))
		// Dan's open is tracked before the receipt it follows, both
		// live: it cancels nothing (exceptions.md), backfill or not.
		require.NoError(t, e.Track(ctx, event.Event{ID: "o-dan", UserID: "dan", Kind: event.EmailOpened, CampaignID: "newsletter", Time: clk.Now()}))
		require.NoError(t, e.Track(ctx, event.Event{ID: "r-dan", UserID: "dan", Kind: event.EmailReceived, CampaignID: "newsletter", Time: clk.Now()}))
	}
	require.NoError(t, e.Publish(ctx, "resend", connector.Backfill(t0)))
	for range 8 {
		clk.Add(day)
		_, err := e.Tick(ctx)
		require.NoError(t, err)
	}
	require.ElementsMatch(t, []string{"bob", "dan"}, send.all(), "ann opened while she waited")
	x, err := e.Explain(ctx, "ann", "resend")
	require.NoError(t, err)
	var kinds []string
	for _, d := range x.Decisions {
		kinds = append(kinds, string(d.Kind)+"/"+string(d.Reason))
		require.True(t, d.Backfilled, "%s", d)
	}
	require.Equal(t, []string{"scheduled/", "cancelled/exception"}, kinds)
}

// TestABackfillKeepsTheLiveRuleForAnExceptionBeforeItsTrigger: Cid's open
// is logged before the receipt stamped in the same instant, both before
// the activation. Replayed in the log's order, the open cancels nothing
// (exceptions.md), and the backfill's last pass, over the exceptions
// tracked since the activation, does not cancel the delivery either.
func TestABackfillKeepsTheLiveRuleForAnExceptionBeforeItsTrigger(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	send := &sentTo{}
	e := newEngine(t, store.NewMemory(), send, clk, connector.WithInteractionLog(30*day))
	draftResend(t, e)
	t0 := clk.Now()
	require.NoError(t, e.Track(ctx, event.Event{ID: "o-cid", UserID: "cid", Kind: event.EmailOpened, CampaignID: "newsletter", Time: t0}))
	require.NoError(t, e.Track(ctx, event.Event{ID: "r-cid", UserID: "cid", Kind: event.EmailReceived, CampaignID: "newsletter", Time: t0}))
	clk.Add(day)
	require.NoError(t, e.Publish(ctx, "resend", connector.Backfill(t0)))
	for range 8 {
		clk.Add(day)
		_, err := e.Tick(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"cid"}, send.all(), "the open came before the receipt")
}

// draftResend saves the newsletter and its resend to non-openers on e,
// and publishes the newsletter alone: the resend waits, a draft, for a
// publish with a backfill.
func draftResend(t *testing.T, e *connector.Engine) {
	t.Helper()
	ctx := context.Background()
	newsletter, resend := resendToNonOpeners()
	require.NoError(t, e.Save(ctx, newsletter))
	require.NoError(t, e.Save(ctx, resend))
	require.NoError(t, e.Publish(ctx, "newsletter"))
}
