package main

import (
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The originals the simulated host sends, and the follow-ups the engine
// runs on them: the flows of the other examples, with delays short enough
// that a week of history shows each of them at work. The simulation
// applies originals and followUps as a set; draftFollowUp stays out of it.
var (
	originals = []rule.Campaign{
		{ID: "newsletter", Channel: event.Email},
		{ID: "abandoned_cart", Channel: event.Push},
		{ID: "free_shipping", Channel: event.Push},
		{ID: "promo", Channel: event.Email},
		{ID: "spring_promo", Channel: event.Email},
	}
	followUps = []rule.Campaign{
		{
			// Resend the newsletter to the users who did not open it.
			ID:         "resend",
			Channel:    event.Email,
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(3 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message:    []byte(`{"subject":"In case you missed it"}`),
		},
		{
			// Remind of the cart a day later unless the user opened the
			// push or bought; a fifth of the users are held out, and
			// purchases within three days count as conversions.
			ID:       "cart_reminder",
			Channel:  event.Push,
			Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:    rule.After(24 * time.Hour),
			Exceptions: []rule.Exception{
				{Kind: event.Purchase},
				{Kind: event.PushOpened, CampaignID: "abandoned_cart"},
			},
			Reeligibility:  rule.ReeligibleAfter(48 * time.Hour),
			ControlPercent: 20,
			Conversions:    []rule.Conversion{{ID: "purchase", Kind: event.Purchase, Deadline: 3 * 24 * time.Hour}},
			Message:        []byte(`{"title":"Your cart misses you"}`),
		},
		{
			// A coupon at once for whoever opens the free-shipping push or
			// taps one of its buttons; once per user.
			ID:      "coupon_15",
			Channel: event.Push,
			Triggers: []rule.Trigger{
				{Kind: event.PushOpened, CampaignID: "free_shipping"},
				{Kind: event.PushButtonClicked, CampaignID: "free_shipping"},
			},
			Conversions: []rule.Conversion{{ID: "purchase", Kind: event.Purchase, Deadline: 2 * 24 * time.Hour}},
			Message:     []byte(`{"coupon":"SAVE15"}`),
		},
		{
			// A survey an hour after the promo held a user out.
			ID:       "holdout_survey",
			Channel:  event.Email,
			Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "promo"}},
			Delay:    rule.After(time.Hour),
			Message:  []byte(`{"survey":"what would make you buy?"}`),
		},
	}
	// draftFollowUp is saved by hand and left a draft while spring_promo
	// runs, so that the dashboard has a warning to show: Apply would
	// publish it.
	draftFollowUp = rule.Campaign{
		ID:       "spring_survey",
		Channel:  event.Email,
		Triggers: []rule.Trigger{{Kind: event.ControlGroupEnrolled, CampaignID: "spring_promo"}},
		Delay:    rule.After(time.Hour),
	}
)
