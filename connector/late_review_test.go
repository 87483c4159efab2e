package connector_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Apply hands over at its end the warnings of a campaign it saved but did
// not publish (edited while active). Those must be the hazards that remain
// once the set is applied, not those of the moment it was saved: editing
// the active original "promo" while its follow-up "f" is a draft warns
// that f misses promo's interactions, but the same Apply publishes f right
// after, and a warning about a hazard the set itself fixed reads as a
// problem that is not one.
func TestLateReviewApplyDoesNotWarnAboutAHazardTheSetFixed(t *testing.T) {
	h := connectortest.New(t)
	promo := rule.Campaign{ID: "promo"}
	f := rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}}, Delay: rule.After(time.Hour)}
	h.Save(promo, f)
	h.Publish("promo") // f left a draft: warned here, rightly
	drafts := func() int {
		n := 0
		for _, d := range h.Decisions() {
			if d.Kind == rule.Warned && d.Reason == rule.ReasonDraftFollowUp {
				n++
			}
		}
		return n
	}
	before := drafts()
	require.Equal(t, 1, before)

	promo.Message = []byte(`{"title":"edited"}`)
	h.Apply(promo, f) // edits promo (active), publishes f
	rec, err := h.Engine.Campaign(t.Context(), "f")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)
	require.Equal(t, before, drafts(), "a warning that f is a draft, handed over after Apply published f")
}

// A hazard that remains after the set is applied is still handed over,
// once: the follow-up edited while active, whose send window lies inside
// the quiet hours.
func TestLateReviewApplyStillWarnsAboutAHazardThatRemains(t *testing.T) {
	h := connectortest.New(t, connector.WithQuietHours(connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: true}))
	night := func(delay time.Duration) rule.Campaign {
		return rule.Campaign{ID: "n", Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "promo"}},
			Delay: rule.After(delay), SendWindow: &rule.SendWindow{From: rule.At(22, 0), To: rule.At(7, 0), NextAvailable: true}}
	}
	h.Apply(rule.Campaign{ID: "promo"}, night(time.Hour))
	h.Apply(rule.Campaign{ID: "promo"}, night(2*time.Hour))
	n := 0
	for _, d := range h.Decisions() {
		if d.Kind == rule.Warned && d.Reason == rule.ReasonQuietHours {
			n++
		}
	}
	require.Equal(t, 2, n, "once when published, once when edited")
}

// A permanent error at the last attempt the policy allows fails the
// delivery as any last attempt does, but its detail must still say it was
// permanent, as the manual promises for every permanent failure: the
// operator looking for refused addresses would otherwise miss those whose
// refusal came after transient errors.
func TestLateReviewAPermanentErrorAtTheLastAttemptSaysSo(t *testing.T) {
	h := connectortest.New(t, connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 2, Base: time.Minute, Max: time.Hour}))
	h.Save(resendCampaigns...)
	h.Publish("resend", "newsletter")
	h.Sender.Fail = func(connector.Delivery) error {
		if len(h.Sender.Attempts()) < 2 {
			return errors.New("421 try again later")
		}
		return connector.Permanent(errors.New("550 mailbox unavailable"))
	}
	h.Track(event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(8 * 24 * time.Hour)

	require.Len(t, h.Sender.Attempts(), 2)
	failed := h.RequireReason("ann", "resend", rule.Failed, rule.ReasonSendError)
	require.Contains(t, failed.Detail, "550 mailbox unavailable")
	require.Contains(t, failed.Detail, "permanent: not retried")
}
