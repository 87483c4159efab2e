package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// Apply with KeepStopped finishes the cancellation of a campaign it leaves
// stopped, a clean-up: nothing of a stopped campaign is ever sent. When
// that clean-up fails (the store's CancelCampaign down), the set must
// still be applied: the restart publishes the rest of it, and the error
// says it is the clean-up that failed (ErrNotCancelled). It ran between
// the publications, follow-ups first, so the failure of a stopped
// follow-up's clean-up returned before its original was published, and a
// restart whose set was otherwise fine came up with the original a draft.
func TestReviewApplyPublishesTheSetWhenFinishingACancelFails(t *testing.T) {
	ctx := context.Background()
	clk := applyClock()
	mem := store.NewMemory()
	send := connector.SenderFunc(func(context.Context, connector.Delivery) error { return nil })

	first := newEngine(t, mem, send, clk)
	for _, c := range resendCampaigns {
		require.NoError(t, first.Save(ctx, c))
	}
	require.NoError(t, first.Publish(ctx, "resend"))
	require.NoError(t, first.Stop(ctx, "resend"))

	// The restart, its store failing CancelCampaign.
	restart := newEngine(t, cancelDown{mem}, send, clk)
	err := restart.Apply(ctx, resendCampaigns, connector.KeepStopped())
	require.ErrorIs(t, err, connector.ErrNotCancelled, "the clean-up's failure is reported as such")
	var ce *connector.CampaignError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "resend", ce.CampaignID)

	rec, err := restart.Campaign(ctx, "newsletter")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State, "the set is applied all the same")
	rec, err = restart.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Stopped, rec.State)
}

// A late trigger whose window has closed by the time it is processed, with
// NextAvailable, must move to the next opening after now, when it can go:
// InDaysAt(0, 8, 0) triggered at 20:00 with a 09:00–18:00 window goes at
// 09:00 the next day. Moved to the opening after its computed due time
// (09:00 the same day, past), it was due at once, deferred at the send
// check to 09:00 the next day, 24 hours past that due time, which a
// maximum deferral of 12 hours dropped: never sent.
func TestReviewALateTriggerMovesToTheWindowAfterNow(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	dir := newDirectory()
	dir.zones["late"] = paris
	h := connectortest.New(t, connector.WithDirectory(dir), connector.WithMaxDeferral(12*time.Hour))
	followUp(h, func(c *rule.Campaign) {
		c.Delay = rule.InDaysAt(0, 8, 0)
		c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 0), NextAvailable: true}
	})
	day := time.Date(2026, 1, 6, 0, 0, 0, 0, paris)
	h.AdvanceTo(day.Add(20 * time.Hour))
	h.Track(opened("late"))
	h.Tick()
	h.AdvanceTo(day.Add(33 * time.Hour))
	h.RequireSentAt("late", "f", day.Add(33*time.Hour))
	h.RequireKinds("late", "f", "scheduled", "delivered")
}
