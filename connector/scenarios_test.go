package connector_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

const day = 24 * time.Hour

// resendToNonOpeners resends the newsletter a week after receipt to users
// who did not open it.
func resendToNonOpeners() (newsletter, resend rule.Campaign) {
	return rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * day),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		Message:    []byte(`{"subject":"In case you missed it"}`),
	}
}

func interaction(user string, kind event.Kind, campaign string) event.Event {
	return event.Event{UserID: user, Kind: kind, CampaignID: campaign}
}

func TestResendToNonOpeners(t *testing.T) {
	h := connectortest.New(t)
	newsletter, resend := resendToNonOpeners()
	h.Save(newsletter, resend)
	h.Publish("resend", "newsletter")
	t0 := h.Now()

	// A receives and never opens.
	h.Track(interaction("a", event.EmailReceived, "newsletter"))
	// B receives and opens on day 2.
	h.Track(interaction("b", event.EmailReceived, "newsletter"))
	// C opened (event time) before receiving: the open is reported after
	// the receipt but stamped an hour earlier.
	h.TrackAt(t0.Add(time.Hour), interaction("c", event.EmailReceived, "newsletter"))
	h.TrackAt(t0, interaction("c", event.EmailOpened, "newsletter"))

	h.Advance(2 * day)
	h.Track(interaction("b", event.EmailOpened, "newsletter"))
	h.Advance(6 * day)

	d := h.RequireSentAt("a", "resend", t0.Add(7*day))
	require.JSONEq(t, `{"subject":"In case you missed it"}`, string(d.Message))
	require.Equal(t, event.EmailReceived, d.Trigger.Kind)
	h.RequireKinds("a", "resend", "scheduled", "delivered")

	h.RequireNotSent("b", "resend")
	x := h.RequireReason("b", "resend", rule.Cancelled, rule.ReasonException)
	require.Equal(t, `email_opened of "newsletter"`, x.Rule)
	require.Equal(t, t0.Add(2*day), x.EventTime)

	h.RequireSentAt("c", "resend", t0.Add(time.Hour+7*day))
	h.RequireNoReason("c", "resend", rule.Cancelled, "")
}

func TestFollowUpPublishedAfterItsOriginalMissesEarlierInteractions(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{
		ID:       "follow_up",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
	})
	h.Publish("newsletter") // the original goes live first: the unsafe order
	t0 := h.Now()
	// Weeks 1 to 3: interactions the follow-up will never see.
	h.TrackAt(t0.Add(3*day), interaction("early", event.EmailOpened, "newsletter"))
	h.Advance(21 * day)

	h.Publish("follow_up") // week 4
	published := h.Now()
	h.Advance(time.Hour)
	h.Track(interaction("week4", event.EmailOpened, "newsletter"))
	// Arrives after publication but happened before it: does not count.
	h.TrackAt(published.Add(-time.Minute), interaction("stamped_before", event.EmailOpened, "newsletter"))
	// Exactly at the activation time counts (at or after).
	h.TrackAt(published, interaction("at_activation", event.EmailOpened, "newsletter"))
	h.Advance(5 * 7 * day) // to week 9

	h.RequireNotSent("early", "follow_up")
	require.Empty(t, h.DecisionsFor("early", "follow_up"), "interactions before the follow-up existed leave no trace")
	h.RequireSent("week4", "follow_up")
	h.RequireNotSent("stamped_before", "follow_up")
	h.RequireReason("stamped_before", "follow_up", rule.Suppressed, rule.ReasonBeforeActivation)
	h.RequireSent("at_activation", "follow_up")

	// Publishing the original while the follow-up was a draft was warned about.
	var warned bool
	for _, d := range h.Decisions() {
		warned = warned || (d.Kind == rule.Warned && d.Reason == rule.ReasonDraftFollowUp && d.CampaignID == "follow_up")
	}
	require.True(t, warned, h.Timeline())
}

// TestBeforeActivationShowsTheFraction: an event stamped to the second
// (as many providers stamp them) in the second of the publication is
// before it, and the decision's detail shows the activation's fraction.
func TestBeforeActivationShowsTheFraction(t *testing.T) {
	h := connectortest.New(t)
	h.Advance(250 * time.Millisecond)
	h.Apply(rule.Campaign{ID: "newsletter"}, rule.Campaign{ID: "follow_up",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}})
	h.TrackAt(connectortest.Start, interaction("u", event.EmailOpened, "newsletter"))
	d := h.RequireReason("u", "follow_up", rule.Suppressed, rule.ReasonBeforeActivation)
	require.Equal(t, "activated at 2026-01-05T00:00:00.25Z", d.Detail)
}

func TestFollowUpOfAControlGroup(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "promo"}, rule.Campaign{
		ID:       "promo_control_follow_up",
		Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "promo"}},
		Delay:    rule.After(time.Hour),
	})
	// Safe order: follow-up first, then the original.
	h.Publish("promo_control_follow_up", "promo")
	h.Track(interaction("held_out_1", event.ControlGroupEnrolled, "promo"),
		interaction("held_out_2", event.ControlGroupEnrolled, "promo"))
	h.Advance(time.Hour)
	h.RequireSentAt("held_out_1", "promo_control_follow_up", connectortest.Start.Add(time.Hour))
	h.RequireSent("held_out_2", "promo_control_follow_up")
	for _, d := range h.Decisions() {
		require.NotEqual(t, rule.Warned, d.Kind, "no warning in the safe order: %s", d)
	}
}

func TestOneCouponForAPushOpenOrButtonClick(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "free_shipping"}, rule.Campaign{
		ID: "coupon_15",
		Triggers: []rule.Trigger{
			{Kind: event.PushOpened, CampaignID: "free_shipping"},
			{Kind: event.PushButtonClicked, CampaignID: "free_shipping"},
		},
		Message: []byte(`{"coupon":"SHIP15"}`),
	})
	h.Publish("coupon_15", "free_shipping")
	h.Track(interaction("opener", event.PushOpened, "free_shipping"))
	h.Track(event.Event{UserID: "clicker", Kind: event.PushButtonClicked, CampaignID: "free_shipping", Target: "shop_now"})
	h.Track(interaction("receiver", event.PushReceived, "free_shipping"))
	// Opens and clicks: one coupon.
	h.Track(interaction("both", event.PushOpened, "free_shipping"),
		event.Event{UserID: "both", Kind: event.PushButtonClicked, CampaignID: "free_shipping", Target: "shop_now"})
	require.Equal(t, 3, h.Tick(), "immediate follow-ups go out on the next tick")

	h.RequireSentAt("opener", "coupon_15", connectortest.Start)
	h.RequireSent("clicker", "coupon_15")
	h.RequireNotSent("receiver", "coupon_15")
	h.RequireSent("both", "coupon_15")
	h.RequireKinds("both", "coupon_15", "scheduled", "suppressed/already_pending", "delivered")
	h.Track(interaction("both", event.PushOpened, "free_shipping"))
	h.RequireReason("both", "coupon_15", rule.Suppressed, rule.ReasonNotReeligible)
}

func TestTriggerOnOneInAppMessageButton(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "onboarding"}, rule.Campaign{
		ID:       "feature_tour",
		Triggers: []rule.Trigger{{Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"}},
	})
	h.Publish("feature_tour", "onboarding")
	h.Track(event.Event{UserID: "curious", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "deep_link"})
	h.Track(event.Event{UserID: "dismisser", Kind: event.InAppMessageButtonClicked, CampaignID: "onboarding", Target: "close"})
	h.Track(interaction("viewer", event.InAppMessageClicked, "onboarding"))
	h.Tick()
	h.RequireSent("curious", "feature_tour")
	h.RequireNotSent("dismisser", "feature_tour")
	require.Empty(t, h.DecisionsFor("dismisser", "feature_tour"), "another button does not match the trigger at all")
	h.RequireNotSent("viewer", "feature_tour")
}

func abandonedCart() (push, reminder rule.Campaign) {
	return rule.Campaign{ID: "abandoned_cart"}, rule.Campaign{
		ID:       "cart_reminder",
		Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay:    rule.After(24 * time.Hour),
		Exceptions: []rule.Exception{
			{Kind: event.Purchase},
			{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
		},
	}
}

func TestAbandonedCartReminderCancelledByAPurchaseOrAnOpen(t *testing.T) {
	h := connectortest.New(t)
	push, reminder := abandonedCart()
	h.Save(push, reminder)
	h.Publish("cart_reminder", "abandoned_cart")
	t0 := h.Now()

	// Bought something an hour before the push: does not cancel.
	h.TrackAt(t0.Add(-time.Hour), event.Event{UserID: "bought_before", Kind: event.Purchase, Name: "sku-1"})
	for _, u := range []string{"bought_before", "buys_during", "opens_during", "ignores"} {
		h.Track(interaction(u, event.PushReceived, "abandoned_cart"))
	}
	h.Advance(3 * time.Hour)
	h.Track(event.Event{UserID: "buys_during", Kind: event.Purchase, Name: "sku-2", Properties: map[string]any{"price": 42.5}})
	h.Track(interaction("opens_during", event.PushOpened, "abandoned_cart"))
	h.Advance(21 * time.Hour)

	h.RequireSentAt("bought_before", "cart_reminder", t0.Add(24*time.Hour))
	h.RequireSentAt("ignores", "cart_reminder", t0.Add(24*time.Hour))
	h.RequireNotSent("buys_during", "cart_reminder")
	require.Equal(t, "purchase", h.RequireReason("buys_during", "cart_reminder", rule.Cancelled, rule.ReasonException).Rule)
	h.RequireNotSent("opens_during", "cart_reminder")
	h.RequireReason("opens_during", "cart_reminder", rule.Cancelled, rule.ReasonException)

	// A purchase after the due time cancels nothing (the delivery is gone).
	h.Track(event.Event{UserID: "ignores", Kind: event.Purchase})
	h.RequireNoReason("ignores", "cart_reminder", rule.Cancelled, "")
}

func TestReeligibility(t *testing.T) {
	trigger := []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}

	t.Run("once only by default", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{ID: "thanks", Triggers: trigger})
		h.Publish("thanks", "newsletter")
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(365 * day)
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(day)
		h.RequireSentTimes("u", "thanks", 1)
		h.RequireReason("u", "thanks", rule.Suppressed, rule.ReasonNotReeligible)
	})

	t.Run("window: inside suppressed, at the boundary scheduled", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{
			ID: "thanks", Triggers: trigger, Reeligibility: rule.ReeligibleAfter(30 * day),
		})
		h.Publish("thanks", "newsletter")
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Tick()
		received := h.Now()
		h.Advance(10 * day)
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.RequireReason("u", "thanks", rule.Suppressed, rule.ReasonNotReeligible)
		// One nanosecond before the window ends: still suppressed.
		h.TrackAt(received.Add(30*day-time.Nanosecond), interaction("u", event.EmailOpened, "newsletter"))
		h.AdvanceTo(received.Add(30 * day))
		h.Track(interaction("u", event.EmailOpened, "newsletter")) // exactly t + W
		h.Tick()
		h.RequireSentTimes("u", "thanks", 2)
		h.RequireKinds("u", "thanks", "scheduled", "delivered",
			"suppressed/not_reeligible", "suppressed/not_reeligible", "scheduled", "delivered")
	})

	t.Run("window zero: every trigger sends", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "newsletter"}, rule.Campaign{ID: "thanks", Triggers: trigger, Reeligibility: rule.ReeligibleAfter(0)})
		h.Publish("thanks", "newsletter")
		for range 3 {
			h.Track(interaction("u", event.EmailOpened, "newsletter"))
			h.Tick()
		}
		h.RequireSentTimes("u", "thanks", 3)
	})

	t.Run("a cancelled wait never blocks the next trigger", func(t *testing.T) {
		h := connectortest.New(t)
		newsletter, resend := resendToNonOpeners()
		h.Save(newsletter, resend)
		h.Publish("resend", "newsletter")
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(day)
		h.Track(interaction("u", event.EmailOpened, "newsletter"))
		h.Advance(day)
		h.Track(interaction("u", event.EmailReceived, "newsletter"))
		h.Advance(7 * day)
		h.RequireSentAt("u", "resend", connectortest.Start.Add(9*day))
		h.RequireKinds("u", "resend", "scheduled", "cancelled/exception", "scheduled", "delivered")
	})
}

func TestDuplicatesAndInvalidInput(t *testing.T) {
	t.Run("the same event ID twice sends once", func(t *testing.T) {
		h := connectortest.New(t)
		newsletter, resend := resendToNonOpeners()
		h.Save(newsletter, resend)
		h.Publish("resend", "newsletter")
		ev := event.Event{ID: "sg-123", UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}
		h.Track(ev)
		h.Advance(time.Hour)
		h.Track(ev) // the provider retried its webhook
		h.Advance(7 * day)
		h.RequireSentTimes("u", "resend", 1)
		h.RequireKinds("u", "resend", "scheduled", "duplicate/duplicate_event", "delivered")
	})

	t.Run("invalid events are typed errors and change nothing", func(t *testing.T) {
		h := connectortest.New(t)
		newsletter, resend := resendToNonOpeners()
		h.Save(newsletter, resend)
		h.Publish("resend", "newsletter")
		cases := []struct {
			name     string
			ev       event.Event
			field    string
			sentinel error
		}{
			{"missing user", event.Event{Kind: event.EmailReceived, CampaignID: "newsletter"}, "user_id", nil},
			{"unknown kind", event.Event{UserID: "u", Kind: "email_teleported", CampaignID: "newsletter"}, "kind", event.ErrUnknownKind},
			{"interaction without campaign", event.Event{UserID: "u", Kind: event.EmailReceived}, "campaign_id", nil},
			{"custom event without name", event.Event{UserID: "u", Kind: event.CustomEvent}, "name", nil},
			{"target on a kind without sub-selector", event.Event{UserID: "u", Kind: event.EmailOpened, CampaignID: "newsletter", Target: "x"}, "target", nil},
			{"unsupported property", event.Event{UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter", Properties: map[string]any{"f": func() {}}}, "properties.f", nil},
			{"oversized id", event.Event{ID: strings.Repeat("x", 300), UserID: "u", Kind: event.EmailReceived, CampaignID: "newsletter"}, "id", event.ErrTooLarge},
		}
		for _, tc := range cases {
			err := h.Engine.Track(context.Background(), tc.ev)
			var ve *event.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			require.Equal(t, tc.field, ve.Field, tc.name)
			if tc.sentinel != nil {
				require.ErrorIs(t, err, tc.sentinel, tc.name)
			}
			_, err = h.Store.User(context.Background(), "", "u")
			require.ErrorIs(t, err, store.ErrNotFound, "%s: no state for the user", tc.name)
		}
		require.Empty(t, h.Decisions())
	})

	t.Run("invalid campaigns are typed errors and change nothing", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "newsletter"})
		before, err := h.Engine.Campaigns(context.Background())
		require.NoError(t, err)
		cases := []struct {
			name     string
			c        rule.Campaign
			field    string
			sentinel error
		}{
			{"exception without delay", rule.Campaign{ID: "f",
				Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
				Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}}},
				"exceptions", rule.ErrExceptionWithoutDelay},
			{"self trigger", rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "f"}}},
				"triggers[0].campaign_id", rule.ErrSelfTrigger},
			{"unknown campaign", rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "nope"}}},
				"triggers[0].campaign_id", connector.ErrUnknownCampaign},
			{"unknown kind", rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: "fax_received", CampaignID: "newsletter"}}},
				"triggers[0].kind", event.ErrUnknownKind},
			{"missing id", rule.Campaign{}, "id", nil},
			{"bad condition", rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.Purchase,
				Where: []rule.Condition{{Property: "price", Op: rule.OpGreater, Value: "cheap"}}}}},
				"triggers[0].where[0].value", rule.ErrInvalidCondition},
			{"end before start", rule.Campaign{ID: "f", Start: connectortest.Start, End: connectortest.Start}, "end", nil},
			{"message not JSON", rule.Campaign{ID: "f", Message: []byte("{")}, "message", nil},
		}
		for _, tc := range cases {
			err := h.Engine.Save(context.Background(), tc.c)
			var ve *rule.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			require.Equal(t, tc.field, ve.Field, tc.name)
			if tc.sentinel != nil {
				require.ErrorIs(t, err, tc.sentinel, tc.name)
			}
		}
		after, err := h.Engine.Campaigns(context.Background())
		require.NoError(t, err)
		require.Equal(t, before, after)
	})

	t.Run("invalid transitions are typed errors", func(t *testing.T) {
		h := connectortest.New(t)
		h.Save(rule.Campaign{ID: "c"})
		ctx := context.Background()
		require.ErrorIs(t, h.Engine.Stop(ctx, "c"), connector.ErrInvalidTransition, "stop a draft")
		require.ErrorIs(t, h.Engine.Publish(ctx, "nope"), connector.ErrUnknownCampaign)
		h.Publish("c")
		require.ErrorIs(t, h.Engine.Publish(ctx, "c"), rule.ErrInvalidTransition, "publish an active campaign")
		h.Archive("c")
		require.ErrorIs(t, h.Engine.Publish(ctx, "c"), connector.ErrInvalidTransition, "archived is final")
		require.ErrorIs(t, h.Engine.Archive(ctx, "c"), connector.ErrInvalidTransition)
		require.ErrorIs(t, h.Engine.Save(ctx, rule.Campaign{ID: "c"}), connector.ErrInvalidTransition, "no edits once archived")
		rec, err := h.Engine.Campaign(ctx, "c")
		require.NoError(t, err)
		require.Equal(t, rule.Archived, rec.State)
	})
}

func TestStopCancelsAndResumeStartsANewActivation(t *testing.T) {
	h := connectortest.New(t)
	newsletter, resend := resendToNonOpeners()
	h.Save(newsletter, resend)
	h.Publish("resend", "newsletter")
	h.Track(interaction("waiting", event.EmailReceived, "newsletter"))
	h.Advance(day)
	h.Stop("resend")
	h.RequireReason("waiting", "resend", rule.Cancelled, rule.ReasonCampaignStopped)

	// Lost while stopped.
	h.Track(interaction("while_stopped", event.EmailReceived, "newsletter"))
	h.Advance(day)
	h.Publish("resend")
	h.Track(interaction("after_resume", event.EmailReceived, "newsletter"))
	h.Advance(10 * day)

	h.RequireNotSent("waiting", "resend")
	h.RequireNotSent("while_stopped", "resend")
	require.Empty(t, h.DecisionsFor("while_stopped", "resend"))
	h.RequireSent("after_resume", "resend")
	rec, err := h.Engine.Campaign(context.Background(), "resend")
	require.NoError(t, err)
	require.Equal(t, int64(2), rec.Activation)
	require.Equal(t, connectortest.Start.Add(2*day), rec.ActivatedAt, "resume starts a new activation time")
}

func TestFollowUpOfAFollowUp(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "newsletter"})
	h.Save(rule.Campaign{ID: "a", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "newsletter"}}})
	h.Save(rule.Campaign{ID: "b", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "a"}}, Delay: rule.After(time.Hour)})
	h.Publish("b", "a", "newsletter")

	h.Track(interaction("u", event.EmailOpened, "newsletter"))
	h.Tick()
	h.RequireSent("u", "a")
	h.RequireNotSent("u", "b")
	// The host's provider reports that u opened follow-up a's email.
	h.Advance(time.Minute)
	h.Track(interaction("u", event.EmailOpened, "a"))
	h.Advance(time.Hour)
	h.RequireSentAt("u", "b", connectortest.Start.Add(time.Hour+time.Minute))
}

func TestSenderErrorsAreTypedForCallers(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "o"}, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "o"}}})
	h.Publish("f", "o")
	h.Sender.Fail = func(connector.Delivery) error { panic("boom") }
	h.Track(interaction("u", event.EmailOpened, "o"))
	h.Tick()
	d := h.RequireReason("u", "f", rule.Retried, rule.ReasonSendError)
	require.Contains(t, d.Detail, "sender panicked: boom")
	require.True(t, errors.Is(connector.ErrSenderPanic, connector.ErrSenderPanic))
}
