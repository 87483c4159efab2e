package connector_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The tests below give one event dozens of follow-ups to decide about
// (more than the engine scans before it looks them up by ID), with the
// user's deliveries, receipts and windows of those follow-ups interleaved
// with others': each follow-up must decide as if it were alone, and what
// the event does not remove must stay in its order.

// crowdT0 is when the one-user tests' events happen.
var crowdT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// crowdEngine is fanOutEngine on a mock clock at crowdT0, with an
// observer that keeps the decisions as "kind reason campaign".
func crowdEngine(t *testing.T, cs []rule.Campaign) (*connector.Engine, *store.Memory, *[]string) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(crowdT0)
	var got []string
	e, mem := fanOutEngine(t, cs, false, connector.WithClock(clk),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			got = append(got, fmt.Sprintf("%s %s %s", d.Kind, d.Reason, d.CampaignID))
		})))
	return e, mem, &got
}

// fill runs fn on crowdUser's state in one store update.
func fill(t *testing.T, mem *store.Memory, fn func(u *store.UserState)) {
	t.Helper()
	err := mem.Update(context.Background(), "", crowdUser, crowdT0, store.Dedup{}, func(u *store.UserState, _ bool) { fn(u) })
	if err != nil {
		t.Fatal(err)
	}
}

// waiting returns a pending delivery of campaignID, triggered at
// triggered and due at due.
func waiting(u *store.UserState, id, campaignID string, triggered, due time.Time) *store.Pending {
	p := u.NewPending()
	*p = store.Pending{ID: id, CampaignID: campaignID, Activation: 1,
		Trigger: event.Event{ID: "trigger-" + id, UserID: crowdUser, Kind: event.EmailReceived, Time: triggered},
		DueAt:   due, ReadyAt: due}
	return p
}

// userState returns crowdUser's state.
func userState(t *testing.T, mem *store.Memory) store.UserState {
	t.Helper()
	u, err := mem.User(context.Background(), "", crowdUser)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sameDecisions fails unless got and want hold the same decisions, in any
// order (the order of one event's decisions is not part of the contract).
func sameDecisions(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("decisions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEachOfManyFollowUpsOfOneReceiptDecidesOnItsOwn(t *testing.T) {
	const n = 40
	policies := []rule.PendingPolicy{rule.KeepFirst, rule.ReplaceWithLatest, rule.AllowParallel, rule.ReplaceWithLatest}
	cs := []rule.Campaign{{ID: "digest"}, {ID: "cart"}, {ID: "other", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "cart"}}}}
	for i := range n {
		c := rule.Campaign{ID: fmt.Sprintf("f%02d", i), Delay: rule.After(time.Hour), PendingPolicy: policies[i%4],
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "digest"}}}
		if i%5 != 0 {
			c.Reeligibility = rule.ReeligibleAfter(0) // else once only
		}
		if i == 7 { // two triggers that both match: one delivery
			c.Triggers = append(c.Triggers, rule.Trigger{Kind: event.EmailReceived, CampaignID: "digest", Where: []rule.Condition{rule.Greater("items", 1)}})
		}
		cs = append(cs, c)
	}
	e, mem, got := crowdEngine(t, cs)
	// Every third follow-up has a delivery waiting (some being sent), each
	// after one of "other"; every tenth has been received.
	var before []string
	fill(t, mem, func(u *store.UserState) {
		for i := range n {
			before = append(before, fmt.Sprint("other-", i))
			u.Pending = append(u.Pending, waiting(u, before[len(before)-1], "other", crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour)))
			if i%3 == 0 {
				before = append(before, fmt.Sprintf("old-f%02d", i))
				p := waiting(u, before[len(before)-1], fmt.Sprintf("f%02d", i), crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
				p.Sending = i%9 == 3
				u.Pending = append(u.Pending, p)
			}
			if i%10 == 0 {
				u.Receipts = append(u.Receipts, store.Receipt{CampaignID: fmt.Sprintf("f%02d", i), At: crowdT0.Add(-24 * time.Hour)})
			}
		}
	})
	ev := event.Event{ID: "rcv", UserID: crowdUser, Kind: event.EmailReceived, CampaignID: "digest",
		Properties: map[string]any{"items": 3}, Time: crowdT0}
	if err := e.Track(context.Background(), ev); err != nil {
		t.Fatal(err)
	}

	var want, kept, scheduled []string
	for i := range n {
		id, hasPending, policy := fmt.Sprintf("f%02d", i), i%3 == 0, policies[i%4]
		switch {
		case hasPending && (policy == rule.KeepFirst || policy == rule.ReplaceWithLatest && i%9 == 3):
			want = append(want, "suppressed already_pending "+id)
		case i%10 == 0:
			want = append(want, "suppressed not_reeligible "+id)
		default:
			want = append(want, "scheduled  "+id)
			scheduled = append(scheduled, id)
			if hasPending && policy == rule.ReplaceWithLatest {
				want = append(want, "cancelled replaced "+id)
				continue
			}
		}
		kept = append(kept, "old-"+id)
	}
	sameDecisions(t, *got, want)
	// The deliveries waiting before, but the replaced ones, in their
	// order; then the new ones, one per follow-up scheduled, in ID order.
	var wantIDs []string
	for _, id := range before {
		if strings.HasPrefix(id, "other") || slices.Contains(kept, id) {
			wantIDs = append(wantIDs, id)
		}
	}
	u := userState(t, mem)
	var gotIDs, gotNew []string
	for _, p := range u.Pending {
		if p.Trigger.ID == "rcv" {
			gotNew = append(gotNew, p.CampaignID)
		} else {
			gotIDs = append(gotIDs, p.ID)
		}
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("deliveries kept: %v\nwant %v", gotIDs, wantIDs)
	}
	if !slices.Equal(gotNew, scheduled) {
		t.Errorf("deliveries scheduled: %v\nwant %v", gotNew, scheduled)
	}
	if k := len(gotIDs); k+len(gotNew) != len(u.Pending) || !slices.IsSortedFunc(u.Pending[k:], func(a, b *store.Pending) int {
		return strings.Compare(a.CampaignID, b.CampaignID)
	}) || u.Pending[k-1].Trigger.ID == "rcv" {
		t.Errorf("the new deliveries are not after the others")
	}
}

func TestOneSessionStartCancelsAcrossManyFollowUps(t *testing.T) {
	const n = 40
	cs := []rule.Campaign{{ID: "digest"}}
	for i := range n {
		c := rule.Campaign{ID: fmt.Sprintf("f%02d", i), Delay: rule.After(time.Hour), PendingPolicy: rule.AllowParallel,
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "digest"}},
			Exceptions: []rule.Exception{{Kind: event.SessionStart}}}
		if i == 5 { // two exceptions that both match: one decision
			c.Exceptions = append(c.Exceptions, rule.Exception{Kind: event.SessionStart, Where: []rule.Condition{rule.Greater("n", 0)}})
		}
		cs = append(cs, c)
	}
	cs = append(cs, rule.Campaign{ID: "other", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "digest"}}})
	e, mem, got := crowdEngine(t, cs)
	// Each follow-up's delivery, after one of "other": waiting (cancelled),
	// triggered after the session start or due before it (both ignored),
	// or being sent (kept, to be cancelled if the send fails). Every
	// eighth follow-up has a second delivery waiting.
	var want, wantIDs, marked []string
	fill(t, mem, func(u *store.UserState) {
		for i := range n {
			id, c := fmt.Sprintf("p%02d", i), fmt.Sprintf("f%02d", i)
			other := waiting(u, fmt.Sprint("other-", i), "other", crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
			p := waiting(u, id, c, crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
			u.Pending = append(u.Pending, other, p)
			wantIDs = append(wantIDs, other.ID)
			switch i % 4 {
			case 0:
				want = append(want, "cancelled exception "+c)
			case 1:
				p.Trigger.Time, p.DueAt = crowdT0.Add(time.Minute), crowdT0.Add(2*time.Hour)
				want = append(want, "ignored before_trigger "+c)
			case 2:
				p.Trigger.Time, p.DueAt = crowdT0.Add(-2*time.Hour), crowdT0.Add(-time.Minute)
				want = append(want, "ignored after_due "+c)
			case 3:
				p.Sending = true
				marked = append(marked, id)
			}
			if i%4 != 0 {
				wantIDs = append(wantIDs, id)
			}
			if i%8 == 0 {
				u.Pending = append(u.Pending, waiting(u, "second-"+id, c, crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour)))
				want = append(want, "cancelled exception "+c)
			}
		}
	})
	ev := event.Event{ID: "session", UserID: crowdUser, Kind: event.SessionStart, Properties: map[string]any{"n": 1}, Time: crowdT0}
	if err := e.Track(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	sameDecisions(t, *got, want)
	var gotIDs, gotMarked []string
	for _, p := range userState(t, mem).Pending {
		gotIDs = append(gotIDs, p.ID)
		if p.CancelOnFailure {
			gotMarked = append(gotMarked, p.ID)
		}
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("deliveries kept: %v\nwant %v", gotIDs, wantIDs)
	}
	if !slices.Equal(gotMarked, marked) {
		t.Errorf("deliveries to cancel if their send fails: %v, want %v", gotMarked, marked)
	}
}

// TestTheSameTriggerAgainTakesTheFirstFreeDeliveryID tracks the same
// trigger (no event ID, the same time) several times: each delivery gets
// the trigger's ID or the first of its variants no waiting delivery has,
// all of them IDs of the documented form.
func TestTheSameTriggerAgainTakesTheFirstFreeDeliveryID(t *testing.T) {
	e, mem, _ := crowdEngine(t, fanOut(20)) // "reminder" lets deliveries pile up
	push := event.Event{UserID: crowdUser, Kind: event.PushReceived, CampaignID: "cart", Time: crowdT0}
	ids := func() []string {
		var out []string
		for _, p := range userState(t, mem).Pending {
			out = append(out, p.ID)
		}
		return out
	}
	track := func() {
		t.Helper()
		if err := e.Track(context.Background(), push); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		track()
	}
	got := ids()
	if len(got) != 3 {
		t.Fatalf("deliveries %v, want 3", got)
	}
	for _, id := range got {
		if len(id) != 16 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("delivery ID %q: want 16 characters of URL-safe base64", id)
		}
	}
	if got[0] == got[1] || got[0] == got[2] || got[1] == got[2] {
		t.Fatalf("deliveries %v: want three IDs", got)
	}
	// The second's ID, freed, is the first variant no delivery has: the
	// next trigger takes it again, and the one after takes a new one.
	fill(t, mem, func(u *store.UserState) {
		u.RemovePendingFunc(func(p *store.Pending) bool { return p.ID == got[1] })
	})
	track()
	track()
	after := ids()
	if len(after) != 4 || !slices.Equal(after[:3], []string{got[0], got[2], got[1]}) || slices.Contains(got, after[3]) {
		t.Fatalf("deliveries %v, want %v then a fourth ID", after, []string{got[0], got[2], got[1]})
	}
}

func TestOnePurchaseConvertsEveryOpenWindow(t *testing.T) {
	const n = 20
	var cs []rule.Campaign
	for i := range n {
		c := rule.Campaign{ID: fmt.Sprintf("c%02d", i), Conversions: []rule.Conversion{
			{ID: "visit", Kind: event.SessionStart}, {ID: "buy", Kind: event.Purchase}}}
		if i%3 == 0 { // a second conversion the purchase completes
			c.Conversions = append(c.Conversions, rule.Conversion{ID: "big", Kind: event.Purchase, Where: []rule.Condition{rule.Greater("total", 100)}})
		}
		cs = append(cs, c)
	}
	cs = append(cs, rule.Campaign{ID: "thanks", Delay: rule.After(time.Hour),
		Triggers: []rule.Trigger{{Kind: event.ConversionPerformed, CampaignID: "c03", Target: "buy"}}})
	e, mem, got := crowdEngine(t, cs)
	// Each campaign's windows: "visit" (the purchase does not complete
	// it), then "big" for every third (converted), then "buy": closed
	// before the purchase for every fifth (kept), open for the others
	// (converted); every fourth has an expired "buy" window first, not yet
	// pruned (kept).
	var want []string
	var wantLeft []string
	fill(t, mem, func(u *store.UserState) {
		for i := range n {
			c := fmt.Sprintf("c%02d", i)
			window := func(cv string, opened, deadline time.Time) {
				u.Conversions = append(u.Conversions, store.ConversionWindow{CampaignID: c, ConversionID: cv, Opened: opened, Deadline: deadline})
			}
			window("visit", crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
			wantLeft = append(wantLeft, c+" visit")
			if i%3 == 0 {
				window("big", crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
				want = append(want, "converted  "+c)
			}
			if i%4 == 0 {
				window("buy", crowdT0.Add(-48*time.Hour), crowdT0.Add(-24*time.Hour))
				wantLeft = append(wantLeft, c+" buy")
			}
			if i%5 == 0 {
				window("buy", crowdT0.Add(-time.Hour), crowdT0)
				wantLeft = append(wantLeft, c+" buy")
				continue
			}
			window("buy", crowdT0.Add(-time.Hour), crowdT0.Add(time.Hour))
			want = append(want, "converted  "+c)
		}
	})
	want = append(want, "scheduled  thanks")
	if err := e.Track(context.Background(), event.Event{ID: "buy", UserID: crowdUser, Kind: event.Purchase, Properties: map[string]any{"total": 150}, Time: crowdT0}); err != nil {
		t.Fatal(err)
	}
	sameDecisions(t, *got, want)
	u := userState(t, mem)
	var left []string
	for _, w := range u.Conversions {
		left = append(left, w.CampaignID+" "+w.ConversionID)
	}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("windows left: %v\nwant %v", left, wantLeft)
	}
	if len(u.Pending) != 1 || u.Pending[0].CampaignID != "thanks" {
		t.Errorf("pending %d, want one delivery of thanks", len(u.Pending))
	}
}
