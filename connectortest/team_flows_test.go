package connectortest_test

import (
	"context"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The tests a team writes for its own campaigns, from docs/testing.md
// alone: each states the business rule, drives the harness as the host's
// webhooks would, and asserts who got what, when.

// Resend the newsletter to those who did not open it within three days,
// unless they bought something meanwhile.
func TestFlowResendToNonOpenersUnlessPurchased(t *testing.T) {
	newsletter := rule.Campaign{ID: "newsletter"}
	resend := rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(3 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}, {Kind: event.Purchase}},
	}
	h := connectortest.New(t)
	h.AdvanceTo(connectortest.Start.Add(10 * time.Hour))
	h.Apply(newsletter, resend)
	received := h.Now()
	for _, u := range []string{"ann", "bob", "cat", "dan"} {
		h.Track(event.Event{UserID: u, Kind: event.EmailReceived, CampaignID: "newsletter"})
	}
	h.Advance(24 * time.Hour)
	h.Track(event.Event{UserID: "bob", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Track(event.Event{UserID: "cat", Kind: event.Purchase, Name: "sku-1"})
	h.Advance(2*24*time.Hour - time.Minute)
	h.RequireNothingSent() // a minute before the due time
	h.Advance(time.Minute)
	// dan opens once the resend went out: too late to cancel it, and
	// logged as such.
	h.Track(event.Event{UserID: "dan", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Advance(7 * 24 * time.Hour)

	due := received.Add(3 * 24 * time.Hour)
	h.RequireSentAt("ann", "resend", due)
	h.RequireSentAt("dan", "resend", due)
	h.RequireRecipients("resend", "ann", "dan")
	h.RequireKinds("bob", "resend", "scheduled", "cancelled/exception")
	h.RequireKinds("cat", "resend", "scheduled", "cancelled/exception")
	if x := h.Explain("cat", "resend"); len(x.Decisions) != 2 || x.Decisions[1].EventKind != event.Purchase {
		t.Errorf("cat's explanation does not name the purchase that cancelled:\n%s", x)
	}
}

// A coupon an hour after a click on the promo's "shop" link, once per
// user, cancelled by a purchase in that hour; a click on another link
// gives nothing.
func TestFlowCouponAfterClick(t *testing.T) {
	promo := rule.Campaign{ID: "promo"}
	coupon := rule.Campaign{
		ID:         "coupon",
		Triggers:   []rule.Trigger{{Kind: event.EmailAliasClicked, CampaignID: "promo", Target: "shop"}},
		Delay:      rule.After(time.Hour),
		Exceptions: []rule.Exception{{Kind: event.Purchase}},
		Message:    []byte(`{"template":"coupon-10"}`),
	}
	h := connectortest.New(t)
	h.AdvanceTo(connectortest.Start.Add(9 * time.Hour))
	h.Apply(promo, coupon)
	click := func(u, target string) {
		h.Track(event.Event{UserID: u, Kind: event.EmailAliasClicked, CampaignID: "promo", Target: target})
	}
	click("ann", "shop")
	click("bob", "shop")
	click("cat", "unsubscribe")
	h.Advance(30 * time.Minute)
	click("ann", "shop") // a second click while she waits: the first one stands
	h.Track(event.Event{UserID: "bob", Kind: event.Purchase})
	h.Advance(24 * time.Hour)
	click("ann", "shop") // after she got it: once only
	h.Advance(24 * time.Hour)

	d := h.RequireSentAt("ann", "coupon", connectortest.Start.Add(10*time.Hour))
	if string(d.Message) != `{"template":"coupon-10"}` {
		t.Errorf("coupon's message = %s, want the campaign's", d.Message)
	}
	h.RequireRecipients("coupon", "ann")
	h.RequireKinds("ann", "coupon", "scheduled", "suppressed/already_pending", "delivered", "suppressed/not_reeligible")
	h.RequireReason("bob", "coupon", rule.Cancelled, rule.ReasonException)
	h.RequireNoReason("cat", "coupon", rule.Scheduled, "")
}

// An onboarding series for users in Berlin, with the engine's quiet hours
// (21:00–08:00, deferred) and a weekday send window of the tips: a
// sign-up at night gets its welcome at 08:00, the tips the next working
// day inside 10:00–16:00, and the weekly digest the next Monday at 10:00,
// across the change to summer time.
func TestFlowOnboardingQuietHoursAndSendWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin") // the test binary embeds time/tzdata (zone_test.go)
	if err != nil {
		t.Fatal(err)
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	window := &rule.SendWindow{From: rule.At(10, 0), To: rule.At(16, 0), Days: weekdays, NextAvailable: true}
	campaigns := []rule.Campaign{
		{
			ID:       "welcome",
			Triggers: []rule.Trigger{{Kind: event.CustomEvent, Name: "signed_up"}},
		},
		{
			ID:         "tips",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "welcome"}},
			Delay:      rule.After(24 * time.Hour),
			SendWindow: window,
			Exceptions: []rule.Exception{{Kind: event.CustomEvent, Name: "unsubscribed"}},
		},
		{
			ID:         "digest",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "tips"}},
			Delay:      rule.NextWeekdayAt(time.Monday, 9, 0),
			SendWindow: window,
		},
	}
	h := connectortest.New(t,
		connector.WithLocation(berlin),
		connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}))
	h.Apply(campaigns...)

	// Thursday 26 March 2026, 23:30 in Berlin: ann signs up; eve signs
	// up too and unsubscribes before her tips.
	h.AdvanceTo(time.Date(2026, 3, 26, 23, 30, 0, 0, berlin))
	h.Track(event.Event{UserID: "ann", Kind: event.CustomEvent, Name: "signed_up"},
		event.Event{UserID: "eve", Kind: event.CustomEvent, Name: "signed_up"})
	welcomeAt := time.Date(2026, 3, 27, 8, 0, 0, 0, berlin)
	h.AdvanceTo(welcomeAt)
	h.RequireSentAt("ann", "welcome", welcomeAt)
	h.RequireReason("ann", "welcome", rule.Deferred, rule.ReasonQuietHours)

	// The provider reports the receipts at 08:00 on Friday: due Saturday
	// 08:00, outside the weekday window, so moved to Monday 10:00, after
	// the change to summer time on Sunday 29 March.
	for _, u := range []string{"ann", "eve"} {
		h.Track(event.Event{UserID: u, Kind: event.EmailReceived, CampaignID: "welcome"})
	}
	tipsAt := time.Date(2026, 3, 30, 10, 0, 0, 0, berlin)
	h.RequirePendingAt("ann", "tips", tipsAt)
	h.Advance(12 * time.Hour)
	h.Track(event.Event{UserID: "eve", Kind: event.CustomEvent, Name: "unsubscribed"})
	h.AdvanceTo(tipsAt)
	h.RequireSentAt("ann", "tips", tipsAt)
	h.RequireReason("eve", "tips", rule.Cancelled, rule.ReasonException)

	// The tips' receipt on Monday 10:00: the digest is due the next
	// Monday at 09:00, before the window opens, so at 10:00.
	h.Track(event.Event{UserID: "ann", Kind: event.EmailReceived, CampaignID: "tips"})
	digestAt := time.Date(2026, 4, 6, 10, 0, 0, 0, berlin)
	h.Advance(14 * 24 * time.Hour)
	h.RequireSentAt("ann", "digest", digestAt)
	h.RequireRecipients("tips", "ann")
	h.RequireRecipients("digest", "ann")

	// Nothing was sent inside quiet hours or outside the window.
	for _, d := range h.Sent() {
		at := h.Sender.SentAt(d.ID).In(berlin)
		if hr := at.Hour(); hr >= 21 || hr < 8 {
			t.Errorf("%s sent to %s at %s, inside quiet hours", d.CampaignID, d.UserID, at)
		}
		if d.CampaignID != "welcome" && !window.Contains(at, berlin) {
			t.Errorf("%s sent to %s at %s, outside its window", d.CampaignID, d.UserID, at)
		}
	}
	if w, err := h.Engine.Check(context.Background()); err != nil || len(w) != 0 {
		t.Errorf("Check = %v, %v; want no warnings", w, err)
	}
}
