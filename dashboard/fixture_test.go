package dashboard

import (
	"fmt"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// fixtureNow is the fake's clock: a Wednesday afternoon, mid-hour.
var fixtureNow = time.Date(2026, time.March, 4, 15, 20, 0, 0, time.UTC)

const resendException = `email_opened of "newsletter"`

// populatedFake returns a fake with an original, two follow-ups, a week of
// tallies, pending deliveries over several pages, a warning and the
// timeline of user "ann".
func populatedFake() *fakeSource {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.add(rule.Campaign{
		ID:         "resend",
		Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay:      rule.After(7 * 24 * time.Hour),
		Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		Message:    []byte(`{"subject":"In case you missed it"}`),
	}, rule.Active)
	f.add(rule.Campaign{
		ID:             "cart_reminder",
		Triggers:       []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
		Delay:          rule.After(24 * time.Hour),
		ControlPercent: 10,
		Conversions:    []rule.Conversion{{ID: "bought", Kind: event.Purchase}},
	}, rule.Draft)
	f.warnings = []connector.Warning{{CampaignID: "cart_reminder", Reason: rule.ReasonUnknownCampaign,
		Detail: `trigger 0 (push_received of "abandoned_cart") names campaign "abandoned_cart", which does not exist`}}
	f.stats = store.Stats{Campaigns: 3, Users: 420, Pending: 0, Interactions: 0}
	// Tallies: every hour of the last 8 days, so that the oldest fall
	// outside the 7-day window.
	end := fixtureNow.Truncate(time.Hour)
	for h := 0; h < 8*24; h++ {
		hour := end.Add(-time.Duration(h) * time.Hour)
		n := int64(h%5 + 1)
		f.tallies = append(f.tallies,
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Scheduled, Count: 3 * n},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Suppressed, Reason: rule.ReasonAlreadyPending, Count: 1},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Cancelled, Reason: rule.ReasonException, Rule: resendException, Count: n},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Delivered, Count: 2 * n},
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Converted, Count: n / 2},
		)
		if h%3 == 0 { // a scheduled delivery dropped when due: counted as scheduled too
			f.tallies = append(f.tallies,
				tally{Hour: hour, CampaignID: "resend", Kind: rule.Suppressed, Reason: rule.ReasonNotInAudience, Rule: store.RuleWhenDue, Count: 2})
		}
		if h%7 == 0 {
			f.tallies = append(f.tallies,
				tally{Hour: hour, CampaignID: "resend", Kind: rule.Retried, Reason: rule.ReasonSendError, Count: 2},
				tally{Hour: hour, CampaignID: "resend", Kind: rule.Failed, Reason: rule.ReasonSendError, Count: 1})
		}
	}
	for i := range 2*pendingPage + 7 {
		p := store.Pending{
			ID: fmt.Sprintf("d%03d", i), CampaignID: "resend", Activation: 1,
			Trigger: event.Event{UserID: fmt.Sprintf("u%03d", i), Kind: event.EmailReceived, CampaignID: "newsletter"},
			DueAt:   fixtureNow.Add(time.Duration(i/3) * time.Hour), // three share each due time
		}
		p.ReadyAt = p.DueAt
		f.pending = append(f.pending, store.Claim{UserID: p.Trigger.UserID, Pending: p})
	}
	f.stats.Pending = int64(len(f.pending))
	received := fixtureNow.Add(-8 * 24 * time.Hour)
	f.explain[[2]string{"ann", "resend"}] = connector.Explanation{
		UserID: "ann", CampaignID: "resend",
		Decisions: []rule.Decision{
			{Kind: rule.Scheduled, CampaignID: "resend", UserID: "ann", EventID: "rcv-1", EventKind: event.EmailReceived,
				EventTime: received, DeliveryID: "d-ann", DueAt: received.Add(7 * 24 * time.Hour), At: received},
			{Kind: rule.Delivered, CampaignID: "resend", UserID: "ann", DeliveryID: "d-ann", Attempt: 1, At: received.Add(7 * 24 * time.Hour)},
		},
		Received: received.Add(7 * 24 * time.Hour),
	}
	return f
}
