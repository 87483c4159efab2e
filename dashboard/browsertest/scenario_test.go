package browsertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// hostileUser and hostileCampaign are IDs that run a script if a page
// writes them as HTML.
const (
	hostileUser     = `<img src=x onerror=alert(1)>"'<script>alert(2)</script>`
	hostileCampaign = `"><script>alert("campaign")</script><svg onload=alert(4)>`
)

// start is when the scenario begins: a Monday morning.
var start = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// scenario is an engine that ran a few days of two follow-ups for about
// two hundred users on a given store, and the users it knows.
type scenario struct {
	engine *connector.Engine
	store  store.Store
	clock  *clock.Mock
	users  []string

	mu       sync.Mutex
	receipts []event.Event // deliveries accepted by the sender, to report as received
}

// failingUser's provider always refuses: the cart reminder fails for good.
const failingUser = "cart-07"

// newScenario runs the scenario on s:
//   - 80 users receive the newsletter; 20 open it within the hour, which
//     cancels their resend, and 10 receive it again, which schedules
//     nothing (already pending); three days later the other 60 get it;
//   - 30 users get the abandoned-cart push; 5 buy within two hours, which
//     cancels their reminder; a day later half of the rest are held out in
//     the control group and the others are reminded (one address bounces
//     until the reminder fails); some of either half buy (conversions);
//   - then 70 more users and the hostile user receive the newsletter: their
//     resends are pending, over two pages.
func newScenario(t *testing.T, s store.Store) *scenario {
	t.Helper()
	ctx := context.Background()
	sc := &scenario{store: s, clock: clock.NewMock()}
	sc.clock.Set(start)
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if d.UserID == failingUser {
			return errors.New("provider: mailbox unavailable")
		}
		sc.mu.Lock()
		defer sc.mu.Unlock()
		sc.receipts = append(sc.receipts, event.Event{ID: "rcv-" + d.ID, UserID: d.UserID, Kind: event.PushReceived, CampaignID: d.CampaignID})
		return nil
	})
	e, err := connector.New(s, send, connector.WithClock(sc.clock), connector.WithSendConcurrency(1),
		connector.WithDecisionLog(200, 30*24*time.Hour),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: 4 * time.Minute}),
		// A resend comes two days after the hostile follow-up on the same
		// newsletter: the cap drops it when due, after it counted as
		// scheduled, as the funnel must show.
		connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1, Window: 3 * 24 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	sc.engine = e
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []rule.Campaign{
		{ID: "newsletter"},
		{ID: "abandoned_cart"},
		{
			ID:         "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(3 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message:    []byte(`{"subject":"In case you missed it"}`),
		},
		{
			ID:             "cart_reminder",
			Channel:        event.Push,
			Triggers:       []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:          rule.After(24 * time.Hour),
			Exceptions:     []rule.Exception{{Kind: event.Purchase}, {Kind: event.PushOpened, CampaignID: "abandoned_cart"}},
			ControlPercent: 50,
			Conversions:    []rule.Conversion{{ID: "purchase", Kind: event.Purchase}},
		},
		{ // a follow-up whose ID is hostile, on the same newsletter
			ID:       hostileCampaign,
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:    rule.After(24 * time.Hour),
			Message:  []byte(`{"subject":"</script><script>alert(5)</script>"}`),
		},
		{ // a draft, for the archive action
			ID:       "spring_survey",
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "newsletter"}},
			Delay:    rule.After(time.Hour),
		},
	} {
		must(e.Save(ctx, c))
	}
	for _, id := range []string{"resend", "cart_reminder", hostileCampaign, "newsletter", "abandoned_cart"} {
		must(e.Publish(ctx, id))
	}
	track := func(user string, kind event.Kind, campaign string) {
		t.Helper()
		if !slices.Contains(sc.users, user) {
			sc.users = append(sc.users, user)
		}
		must(e.Track(ctx, event.Event{UserID: user, Kind: kind, CampaignID: campaign,
			Properties: map[string]any{"note": `</script><script>alert(3)</script>`}}))
	}
	for i := range 80 {
		track(fmt.Sprintf("news-%02d", i), event.EmailReceived, "newsletter")
	}
	for i := range 30 {
		track(fmt.Sprintf("cart-%02d", i), event.PushReceived, "abandoned_cart")
	}
	sc.advance(t, time.Hour)
	for i := range 20 {
		track(fmt.Sprintf("news-%02d", i), event.EmailOpened, "newsletter")
	}
	for i := 30; i < 40; i++ { // a second newsletter while they wait: suppressed
		track(fmt.Sprintf("news-%02d", i), event.EmailReceived, "newsletter")
	}
	sc.advance(t, time.Hour)
	for i := range 5 {
		track(fmt.Sprintf("cart-%02d", i), event.Purchase, "")
	}
	sc.advance(t, 23*time.Hour) // the reminders fall due, and the failing one is retried until it fails
	for i := 5; i < 30; i += 3 {
		track(fmt.Sprintf("cart-%02d", i), event.Purchase, "") // reminded or held out: a conversion
	}
	sc.advance(t, 2*24*time.Hour) // the resends fall due
	for i := range 70 {
		track(fmt.Sprintf("wave-%02d", i), event.EmailReceived, "newsletter")
	}
	track(hostileUser, event.EmailReceived, "newsletter")
	sc.advance(t, 2*time.Hour)
	return sc
}

// advance moves the clock forward by d as Run would: it stops at each due
// time on the way, sends what is due and reports what was received.
func (sc *scenario) advance(t *testing.T, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	end := sc.clock.Now().Add(d)
	for {
		if _, err := sc.engine.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		sc.mu.Lock()
		received := sc.receipts
		sc.receipts = nil
		sc.mu.Unlock()
		if len(received) > 0 {
			if err := sc.engine.TrackAll(ctx, received); err != nil {
				t.Fatal(err)
			}
		}
		next, ok, err := sc.store.NextDue(ctx, sc.engine.Namespace())
		if err != nil {
			t.Fatal(err)
		}
		if !ok || next.After(end) || !next.After(sc.clock.Now()) {
			break
		}
		sc.clock.Set(next)
	}
	sc.clock.Set(end)
	if _, err := sc.engine.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

// canTally and canListPending report whether the scenario's engine
// answers Tallies and PendingDeliveries, which need a store that keeps
// tallies and can list pending deliveries; where it cannot, the dashboard
// says so in place of those figures.
func (sc *scenario) canTally(t *testing.T) bool {
	t.Helper()
	_, err := sc.engine.Tallies(context.Background(), store.TallyQuery{Until: sc.clock.Now().Add(time.Hour)})
	return sc.supported(t, err)
}

func (sc *scenario) canListPending(t *testing.T) bool {
	t.Helper()
	_, err := sc.engine.PendingDeliveries(context.Background(), store.PendingQuery{Limit: 1})
	return sc.supported(t, err)
}

func (sc *scenario) supported(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, connector.ErrNotSupported) {
		t.Fatal(err)
	}
	return err == nil
}

// tallied sums the engine's tallies of campaign id in [since, until) by kind.
func (sc *scenario) tallied(t *testing.T, id string, since, until time.Time) map[rule.DecisionKind]int64 {
	t.Helper()
	ts, err := sc.engine.Tallies(context.Background(), store.TallyQuery{Since: since, Until: until, CampaignID: id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[rule.DecisionKind]int64{}
	for _, x := range ts {
		out[x.Kind] += x.Count
		if x.Kind == rule.Suppressed && x.Rule == store.RuleWhenDue {
			out[suppressedWhenDue] += x.Count
		}
		if x.Kind == rule.Converted && x.Reason == rule.ReasonControlGroup {
			out[convertedHeldOut] += x.Count
		}
	}
	return out
}

// suppressedWhenDue keys, in the counts of tallied and decided, the
// suppressions of scheduled deliveries when they came due (counted among
// rule.Suppressed too), which the funnel puts after Scheduled.
const suppressedWhenDue rule.DecisionKind = "suppressed when due"

// convertedHeldOut keys, in the counts of tallied and decided, the
// conversions of users held out in the control group (counted among
// rule.Converted too), which the pages count apart.
const convertedHeldOut rule.DecisionKind = "converted while held out"

// convertedSent is the conversions of users sent the follow-up, among
// counts: the funnel's last step.
func convertedSent(counts map[rule.DecisionKind]int64) int64 {
	return counts[rule.Converted] - counts[convertedHeldOut]
}

// triggered is the funnel's first step of counts: every scheduling and
// every trigger suppressed on arrival.
func triggered(counts map[rule.DecisionKind]int64) int64 {
	return counts[rule.Scheduled] + counts[rule.Suppressed] - counts[suppressedWhenDue]
}

// decided counts, from the engine's decision log (Explain), the decisions
// of each kind about campaign id taken in [since, until).
func (sc *scenario) decided(t *testing.T, id string, since, until time.Time) map[rule.DecisionKind]int64 {
	t.Helper()
	out := map[rule.DecisionKind]int64{}
	for _, u := range sc.users {
		x, err := sc.engine.Explain(context.Background(), u, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range x.Decisions {
			if !d.At.Before(since) && d.At.Before(until) {
				out[d.Kind]++
				if d.Kind == rule.Suppressed && d.DeliveryID != "" { // a scheduled delivery's
					out[suppressedWhenDue]++
				}
				if d.Kind == rule.Converted && d.Reason == rule.ReasonControlGroup {
					out[convertedHeldOut]++
				}
			}
		}
	}
	return out
}

// pending returns the IDs of the pending deliveries of campaign id, from
// Explain, in no order.
func (sc *scenario) pending(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	for _, u := range sc.users {
		x, err := sc.engine.Explain(context.Background(), u, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range x.Pending {
			out = append(out, p.ID)
		}
	}
	return out
}
