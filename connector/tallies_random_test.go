package connector_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestTalliesCountWhatObserversSee runs random scenarios — follow-ups with
// exceptions, pending policies, re-eligibility, durations, audiences, send
// windows, control groups, conversions and rate limits; engines with quiet
// hours, frequency caps, a maximum trigger age and lead and deferral; a
// sender and a directory that fail now and then; duplicate, late, early
// and batched events, and events naming an unknown campaign; stops and
// resumes; a follow-up of conversions — on two engines with stores of
// their own: one with an observer and a decision log, one with neither (so
// it builds no decision). Both engines' tallies must equal the decisions
// the observer saw, counted per follow-up, hour, kind, reason and (for a
// cancellation by an exception) exception, after every few operations and
// at the end. Across the scenarios, every decision point must have been
// reached.
func TestTalliesCountWhatObserversSee(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 15
	}
	seen := map[string]bool{}
	for seed := range n {
		for k := range runTallyScenario(t, uint64(seed)) {
			seen[k] = true
		}
		if t.Failed() {
			return
		}
	}
	if testing.Short() {
		return // a quarter of the scenarios does not reach every decision point
	}
	for _, want := range []string{
		"scheduled/", "scheduled/late", "duplicate/duplicate_event", "delivered/", "held_out/control_group", "converted/",
		"cancelled/exception", "cancelled/campaign_stopped", "cancelled/replaced",
		"suppressed/before_activation", "suppressed/already_pending", "suppressed/not_reeligible",
		"suppressed/not_in_audience", "suppressed/outside_duration", "suppressed/trigger_too_old", "suppressed/trigger_too_far_ahead",
		"suppressed/outside_send_window",
		// Suppressions of scheduled deliveries when they came due.
		"suppressed/not_in_audience@when_due", "suppressed/outside_send_window@when_due",
		"suppressed/frequency_capped@when_due", "suppressed/quiet_hours@when_due",
		"deferred/quiet_hours", "deferred/outside_send_window", "deferred/rate_limited",
		"retried/send_error", "failed/send_error", "retried/directory_error", "scheduled on a conversion",
		"ignored/unknown_campaign", "ignored/before_trigger", "ignored/after_due",
	} {
		require.True(t, seen[want], "no scenario reached a %s decision (seen: %v)", want, slices.Sorted(func(yield func(string) bool) {
			for k := range seen {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// tallyWorld is one engine of a scenario, with its store and what it saw.
type tallyWorld struct {
	store  *store.Memory
	engine *connector.Engine
}

// runTallyScenario runs the scenario of seed and returns the kinds and
// reasons ("kind/reason") of the decisions it took.
func runTallyScenario(t *testing.T, seed uint64) map[string]bool {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x7461))
	// ahead draws what concerns stamps ahead of the clock, apart from r,
	// so that the scenarios r draws stay those that reach every decision.
	ahead := rand.New(rand.NewPCG(seed, 0x6168))
	ctx := context.Background()
	start := time.Date(2026, 3, 2, r.IntN(24), r.IntN(60), 0, 0, time.UTC)
	clk := clock.NewMock()
	clk.Set(start)

	failPct := uint64(pick(r, 0, 0, 20, 50))
	hash := func(parts ...any) uint64 {
		h := fnv.New64a()
		fmt.Fprint(h, append([]any{seed}, parts...)...)
		return h.Sum64()
	}
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		if hash(d.ID, d.Attempt)%100 < failPct {
			return errors.New("refused")
		}
		return nil
	})
	dir := tallyDirectory{hash: hash, failPct: uint64(pick(r, 0, 0, 10)), now: clk.Now}
	opts := []connector.Option{
		connector.WithClock(clk),
		connector.WithSendConcurrency(1),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 1 + r.IntN(3), Base: 10 * time.Minute, Max: time.Hour}),
		connector.WithDirectory(dir),
	}
	if r.IntN(2) == 0 {
		opts = append(opts, connector.WithQuietHours(connector.QuietHours{From: rule.At(22, 0), To: rule.At(7, 0), Defer: r.IntN(2) == 0}))
	}
	if r.IntN(2) == 0 {
		opts = append(opts, connector.WithFrequencyCaps(connector.FrequencyCap{Max: 1 + r.IntN(2), Window: time.Duration(1+r.IntN(12)) * time.Hour}))
	}
	if r.IntN(3) == 0 {
		opts = append(opts, connector.WithMaxTriggerAge(time.Duration(1+r.IntN(3))*time.Hour))
	}
	if ahead.IntN(3) == 0 {
		opts = append(opts, connector.WithMaxTriggerLead(time.Duration(1+ahead.IntN(3))*time.Hour))
	}
	if r.IntN(3) == 0 {
		opts = append(opts, connector.WithMaxDeferral(time.Duration(1+r.IntN(6))*time.Hour))
	}
	var observed []rule.Decision
	var mu sync.Mutex
	observer := connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
		mu.Lock()
		observed = append(observed, d)
		mu.Unlock()
	}))
	var worlds [2]tallyWorld
	for i := range worlds {
		o := append([]connector.Option(nil), opts...)
		if i == 0 {
			o = append(o, observer, connector.WithDecisionLog(50, 30*24*time.Hour))
		}
		s := store.NewMemory()
		e, err := connector.New(s, send, o...)
		require.NoError(t, err)
		worlds[i] = tallyWorld{store: s, engine: e}
	}
	both := func(f func(e *connector.Engine) error) []string {
		var errs []string
		for _, w := range worlds {
			err := f(w.engine)
			errs = append(errs, fmt.Sprint(err))
		}
		return errs
	}

	campaigns := tallyCampaigns(r, start)
	for _, c := range campaigns {
		errs := both(func(e *connector.Engine) error { return e.Save(ctx, c) })
		require.Equal(t, errs[0], errs[1])
		require.Equal(t, "<nil>", errs[0], "save %s", c.ID)
	}
	for _, id := range []string{"thanks", "winback", "resend", "coupon", "news", "promo"} {
		both(func(e *connector.Engine) error { return e.Publish(ctx, id) })
	}

	users := []string{"ann", "bob", "cid", "dee", "eve", "fay"}
	var ids []string
	newEvent := func() event.Event {
		ev := tallyEvent(r, users)
		switch {
		case len(ids) > 0 && r.IntN(6) == 0:
			ev.ID = ids[r.IntN(len(ids))] // a provider's retry
		case r.IntN(4) > 0:
			ev.ID = fmt.Sprint("ev", len(ids))
			ids = append(ids, ev.ID)
		}
		if r.IntN(4) == 0 {
			ev.Time = clk.Now().Add(-time.Duration(r.IntN(300)) * time.Minute) // reported late
		} else if ahead.IntN(10) == 0 {
			ev.Time = clk.Now().Add(time.Duration(1+ahead.IntN(300)) * time.Minute) // a clock running ahead
		}
		return ev
	}
	check := func(when string) {
		t.Helper()
		want := tallyOf(observed)
		for i, w := range worlds {
			got, err := w.engine.Tallies(ctx, store.TallyQuery{})
			require.NoError(t, err)
			require.Equal(t, want, tallyLines(got), "seed %d, %s: engine %d's tallies against the decisions observed", seed, when, i)
		}
	}
	for op := range 40 + r.IntN(80) {
		switch w := r.IntN(100); {
		case w < 45:
			ev := newEvent()
			both(func(e *connector.Engine) error { return e.Track(ctx, ev) })
		case w < 55:
			batch := make([]event.Event, 2+r.IntN(5))
			for i := range batch {
				batch[i] = newEvent()
			}
			both(func(e *connector.Engine) error { return e.TrackAll(ctx, batch) })
		case w < 60:
			id := pick(r, "resend", "coupon", "news", "promo")
			if r.IntN(2) == 0 {
				both(func(e *connector.Engine) error { return e.Stop(ctx, id) })
			} else {
				both(func(e *connector.Engine) error { return e.Publish(ctx, id) })
			}
		default:
			tallyAdvance(t, clk, worlds[:], time.Duration(1+r.IntN(600))*time.Minute)
		}
		if op%15 == 14 {
			check(fmt.Sprintf("after operation %d", op))
		}
	}
	tallyAdvance(t, clk, worlds[:], 4*24*time.Hour)
	check("at the end")
	out := map[string]bool{}
	for _, d := range observed {
		k := string(d.Kind) + "/" + string(d.Reason)
		if d.Kind == rule.Suppressed && d.DeliveryID != "" {
			k += "@" + store.RuleWhenDue
		}
		out[k] = true
		if d.CampaignID == "thanks" && d.Kind == rule.Scheduled {
			out["scheduled on a conversion"] = true
		}
	}
	return out
}

// tallyCampaigns returns the scenario's campaigns: two originals and three
// follow-ups whose options vary with r.
func tallyCampaigns(r *rand.Rand, start time.Time) []rule.Campaign {
	policies := []rule.PendingPolicy{rule.KeepFirst, rule.ReplaceWithLatest, rule.AllowParallel}
	resend := rule.Campaign{
		ID:            "resend",
		Channel:       event.Email,
		Triggers:      []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
		Delay:         rule.After(time.Duration(1+r.IntN(20)) * time.Hour),
		Exceptions:    []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}, {Kind: event.Purchase}},
		PendingPolicy: pick(r, policies...),
		Reeligibility: pick(r, rule.OnceOnly(), rule.ReeligibleAfter(time.Duration(1+r.IntN(48))*time.Hour)),
		Conversions:   []rule.Conversion{{ID: "buy", Kind: event.Purchase, Deadline: 48 * time.Hour}},
		Message:       []byte(`{"m":"resend"}`),
	}
	if r.IntN(2) == 0 {
		resend.ControlPercent = 40
	}
	if r.IntN(2) == 0 {
		// Until 23:00, into the quiet hours 22:00-07:00: a delivery deferred
		// by them to 07:00 is then outside the window (deferred, or dropped).
		resend.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(23, 0), NextAvailable: r.IntN(2) == 0}
	}
	if r.IntN(3) == 0 {
		resend.End = start.Add(time.Duration(12+r.IntN(48)) * time.Hour)
	}
	coupon := rule.Campaign{
		ID:            "coupon",
		Channel:       event.Push,
		Triggers:      []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "promo"}, {Kind: event.EmailClicked, CampaignID: "news"}},
		PendingPolicy: pick(r, policies...),
		Reeligibility: pick(r, rule.OnceOnly(), rule.ReeligibleAfter(time.Hour)),
		Conversions:   []rule.Conversion{{ID: "buy", Kind: event.Purchase}},
		Message:       []byte(`{"m":"coupon"}`),
	}
	if r.IntN(2) == 0 {
		coupon.Audience = "vip"
		coupon.RecheckAudience = r.IntN(2) == 0
	}
	if r.IntN(2) == 0 {
		coupon.RateLimit = 1
	}
	if r.IntN(3) == 0 {
		coupon.Start = start.Add(time.Duration(r.IntN(12)) * time.Hour)
	}
	if r.IntN(2) == 0 {
		coupon.SendWindow = &rule.SendWindow{From: rule.At(8, 0), To: rule.At(20, 0), NextAvailable: true}
	}
	winback := rule.Campaign{
		ID:       "winback",
		Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "resend"}},
		Delay:    rule.After(time.Hour),
		Message:  []byte(`{"m":"winback"}`),
	}
	thanks := rule.Campaign{ // on an event the engine emits while tracking another
		ID:       "thanks",
		Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "resend"}},
		Delay:    rule.After(30 * time.Minute),
		Message:  []byte(`{"m":"thanks"}`),
	}
	return []rule.Campaign{
		{ID: "news", Channel: event.Email}, {ID: "promo", Channel: event.Email}, resend, coupon, winback, thanks,
	}
}

// tallyEvent returns a random event of the scenario's kinds.
func tallyEvent(r *rand.Rand, users []string) event.Event {
	ev := event.Event{UserID: pick(r, users...)}
	switch r.IntN(8) {
	case 0, 1, 2:
		ev.Kind, ev.CampaignID = event.EmailReceived, "news"
	case 3:
		ev.Kind, ev.CampaignID = event.EmailOpened, "news"
	case 4:
		ev.Kind, ev.CampaignID = event.EmailOpened, "promo"
	case 5:
		ev.Kind, ev.CampaignID = event.EmailClicked, "news"
	case 6:
		ev.Kind, ev.CampaignID = pick(r, event.EmailReceived, event.PushReceived), pick(r, "resend", "coupon", "typo")
	default:
		ev.Kind, ev.Name = event.Purchase, "shoes"
	}
	return ev
}

// tallyAdvance moves the clock forward by d, ticking every engine at each
// due time on the way, as Run would.
func tallyAdvance(t *testing.T, clk *clock.Mock, worlds []tallyWorld, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	target := clk.Now().Add(d)
	for range 10000 {
		next := target
		for _, w := range worlds {
			if at, ok, err := w.store.NextDue(ctx, ""); err != nil {
				t.Fatal(err)
			} else if ok && at.Before(next) {
				next = at
			}
		}
		if next.After(clk.Now()) {
			clk.Set(next)
		}
		for _, w := range worlds {
			_, _ = w.engine.Tick(ctx)
		}
		if !next.Before(target) {
			return
		}
		if !next.After(clk.Now().Add(-time.Millisecond)) {
			clk.Set(clk.Now().Add(time.Millisecond)) // due but not sendable now: step over it
		}
	}
	t.Fatal("the clock never reached its target")
}

// tallyOf counts decisions as tallies, one line per key.
func tallyOf(ds []rule.Decision) []string {
	counts := map[store.TallyKey]int64{}
	for _, d := range ds {
		if d.Kind == rule.Warned {
			continue
		}
		k := store.TallyKey{Hour: d.At.Truncate(time.Hour).Unix(), CampaignID: d.CampaignID, Kind: d.Kind, Reason: d.Reason}
		if d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign {
			k.CampaignID = "" // counted under no follow-up: the ID is the host's input
		}
		if d.Kind == rule.Cancelled && d.Reason == rule.ReasonException {
			k.Rule = d.Rule
		}
		if d.Kind == rule.Suppressed && d.DeliveryID != "" { // a delivery's, when it came due
			k.Rule = store.RuleWhenDue
		}
		counts[k]++
	}
	var out []store.Tally
	for k, n := range counts {
		out = append(out, k.Tally(n))
	}
	slices.SortFunc(out, func(a, b store.Tally) int { return a.Key().Compare(b.Key()) })
	return tallyLines(out)
}

func tallyLines(ts []store.Tally) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = fmt.Sprintf("%s %s %s/%s %q ×%d", x.Hour.UTC().Format("Jan 2 15h"), x.CampaignID, x.Kind, x.Reason, x.Rule, x.Count)
	}
	return out
}

// tallyDirectory places users in a zone and a segment by their ID and
// fails now and then, the same way for every engine of a scenario.
type tallyDirectory struct {
	hash    func(parts ...any) uint64
	failPct uint64
	now     func() time.Time
}

func (d tallyDirectory) fail(userID string) error {
	if d.hash(userID, d.now().UnixNano())%100 < d.failPct {
		return errors.New("directory down")
	}
	return nil
}

func (d tallyDirectory) Location(_ context.Context, userID string) (*time.Location, error) {
	if err := d.fail(userID); err != nil {
		return nil, err
	}
	if strings.ContainsAny(userID, "ae") {
		return time.FixedZone("east", 5*3600), nil
	}
	return nil, nil
}

func (d tallyDirectory) InSegment(_ context.Context, userID, _ string) (bool, error) {
	if err := d.fail(userID); err != nil {
		return false, err
	}
	// Mostly stable, with a user in five on the other side for an hour:
	// an audience re-checked at send time finds some users gone.
	return (userID < "d") != (d.hash(userID, d.now().Unix()/3600)%5 == 0), nil
}
