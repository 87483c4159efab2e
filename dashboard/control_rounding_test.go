package dashboard

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// controlFigures is the control group's figures of a follow-up sent to
// sent users, sentConv of whom converted, and holding out held, heldConv
// of whom converted, all within the last hour of a day's window.
func controlFigures(sent, sentConv, held, heldConv int64) *control {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ts := []tally{
		{Hour: at, CampaignID: "c", Kind: rule.Delivered, Count: sent},
		{Hour: at, CampaignID: "c", Kind: rule.Converted, Count: sentConv},
		{Hour: at, CampaignID: "c", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: held},
		{Hour: at, CampaignID: "c", Kind: rule.Converted, Reason: rule.ReasonControlGroup, Count: heldConv},
	}
	return controlGroup(summarize(ts, funnelMetrics, lastDay, at, nil), 10)
}

// The sentence's difference is that of the two rates as it shows them: a
// campaign manager who reads 10.0 % and 10.0 % reads "as many", and one
// who reads 10.0 % and 9.0 % reads 1.0 point more.
func TestControlGroupWordsAgreeWithTheRatesShown(t *testing.T) {
	for _, c := range []struct {
		c    *control
		want string
	}{
		// 10.04 % and 9.96 %
		{controlFigures(2500, 251, 2500, 249), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 10.0 %: as many with the message as without it."},
		// 10.04 % and 10.06 %
		{controlFigures(2500, 251, 5000, 503), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 10.1 %: 0.1 points fewer with the message than without it."},
		// 10.04 % and 8.96 %
		{controlFigures(2500, 251, 2500, 224), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 9.0 %: 1.0 points more with the message than without it."},
	} {
		require.Equal(t, c.want, c.c.Words)
	}
}

// Conversions in the window of users sent it or held out before it can
// outnumber those sent it or held out in it: a rate past 100 % compares
// nothing, and the sentence says so rather than subtract it.
func TestControlGroupWordsPastAHundredPercent(t *testing.T) {
	c := controlFigures(10, 1, 2, 3)
	require.Equal(t, float64(150), c.HeldRate, "the table shows the rate")
	require.Equal(t, "3 users held out converted in the last 24 h, more than the 2 held out in it: some were held out before it, so the two rates cannot be compared over it.", c.Words)
	require.Equal(t, "12 users sent it converted in the last 24 h, more than the 10 it was sent to in it: some were sent it before it, so the two rates cannot be compared over it.",
		controlFigures(10, 12, 5, 1).Words)
	require.Contains(t, controlFigures(10, 10, 5, 5).Words, "100.0 %", "every user converted: a rate to compare")
}
