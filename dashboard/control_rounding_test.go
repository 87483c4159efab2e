package dashboard

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// The sentence's difference is that of the two rates as it shows them: a
// campaign manager who reads 10.0 % and 10.0 % reads "as many", and one
// who reads 10.0 % and 9.0 % reads 1.0 point more.
func TestControlGroupWordsAgreeWithTheRatesShown(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	figures := func(sent, sentConv, held, heldConv int64) *control {
		ts := []tally{
			{Hour: at, CampaignID: "c", Kind: rule.Delivered, Count: sent},
			{Hour: at, CampaignID: "c", Kind: rule.Converted, Count: sentConv},
			{Hour: at, CampaignID: "c", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: held},
			{Hour: at, CampaignID: "c", Kind: rule.Converted, Reason: rule.ReasonControlGroup, Count: heldConv},
		}
		return controlGroup(summarize(ts, funnelMetrics, lastDay, at, nil), 10)
	}
	for _, c := range []struct {
		c    *control
		want string
	}{
		// 10.04 % and 9.96 %
		{figures(2500, 251, 2500, 249), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 10.0 %: as many with the message as without it."},
		// 10.04 % and 10.06 %
		{figures(2500, 251, 5000, 503), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 10.1 %: 0.1 points fewer with the message than without it."},
		// 10.04 % and 8.96 %
		{figures(2500, 251, 2500, 224), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 9.0 %: 1.0 points more with the message than without it."},
	} {
		require.Equal(t, c.want, c.c.Words)
	}
}
