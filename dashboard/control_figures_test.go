package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// controlFake is a source with follow-up "offer", which holds out 20% of
// its users, and tallies of the last hours: 40 sent, 10 held out, 8
// conversions of users sent it and 1 of a user held out.
func controlFake(t *testing.T) *fakeSource {
	t.Helper()
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	f := newFake(now)
	f.add(rule.Campaign{ID: "news"}, rule.Active)
	f.add(rule.Campaign{ID: "offer", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}, ControlPercent: 20,
		Conversions: []rule.Conversion{{ID: "bought", Kind: event.Purchase}}}, rule.Active)
	hour := now.Truncate(time.Hour)
	f.tallies = append(f.tallies, []tally{
		{Hour: hour.Add(-2 * time.Hour), CampaignID: "offer", Kind: rule.Scheduled, Count: 50},
		{Hour: hour.Add(-time.Hour), CampaignID: "offer", Kind: rule.Delivered, Count: 40},
		{Hour: hour.Add(-time.Hour), CampaignID: "offer", Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: 10},
		{Hour: hour, CampaignID: "offer", Kind: rule.Converted, Count: 8},
		{Hour: hour, CampaignID: "offer", Kind: rule.Converted, Reason: rule.ReasonControlGroup, Count: 1},
	}...)
	return f
}

// The funnel's Converted step counts the conversions of users sent the
// follow-up only; the page sets those of the users held out beside them,
// with both rates and what they mean.
func TestCampaignPageSetsTheControlGroupApart(t *testing.T) {
	f := controlFake(t)
	page := body(t, get(t, mustHandler(t, f), "/campaign?id=offer&range=24h"), http.StatusOK)
	require.EqualValues(t, 40, number(t, page, `data-step="sent"`))
	require.EqualValues(t, 8, number(t, page, `data-step="converted"`), "Converted counts the users sent it only")

	table := section(t, page, `data-control`, "</table>")
	sent := section(t, table, `data-group="sent"`, "</tr>")
	require.EqualValues(t, 40, number(t, sent, "data-count"))
	require.EqualValues(t, 8, number(t, sent, "data-converted"))
	require.Contains(t, sent, ">20.0 %<")
	held := section(t, table, `data-group="held_out"`, "</tr>")
	require.Contains(t, held, "Held out in the control group (sent nothing)")
	require.EqualValues(t, 10, number(t, held, "data-count"))
	require.EqualValues(t, 1, number(t, held, "data-converted"))
	require.Contains(t, held, ">10.0 %<")
	require.Contains(t, oneLine(section(t, page, "data-control-words", "</p>")),
		"Of the users sent it, 20.0 % converted; of those held out, who were sent nothing, 10.0 %: 10.0 points more with the message than without it.")
	require.NotContains(t, page, "Conversions include those of users held out")

	days := section(t, page, `id="days"`, "</section>")
	require.EqualValues(t, 8, number(t, days, `data-metric="converted"`))
	require.EqualValues(t, 1, number(t, days, `data-metric="converted_held_out"`))
}

// The campaigns page counts the two kinds of conversions in rows of their
// own.
func TestCampaignsPageSetsTheControlGroupApart(t *testing.T) {
	f := controlFake(t)
	page := body(t, get(t, mustHandler(t, f), "/"), http.StatusOK)
	offer := section(t, page, `data-campaign="offer"`, "</article>")
	require.EqualValues(t, 8, number(t, offer, `data-metric="converted" data-window="24h"`))
	require.EqualValues(t, 1, number(t, offer, `data-metric="converted_held_out" data-window="24h"`))
	require.Contains(t, offer, "Converted, held out")
	require.NotContains(t, section(t, offer, `data-metric="converted_held_out" data-window="24h"`, "</td>"), `class="why"`,
		"a conversion needs no breakdown by reason")
}

// What the two rates say: more, fewer or as many with the message, and
// nothing to compare when either group is empty; a follow-up that held
// no one out and holds out no one shows no comparison.
func TestControlGroupWords(t *testing.T) {
	figures := func(sent, sentConv, held, heldConv int64, percent int) *control {
		at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		var ts []tally
		for _, x := range []tally{
			{Kind: rule.Delivered, Count: sent}, {Kind: rule.Converted, Count: sentConv},
			{Kind: rule.HeldOut, Reason: rule.ReasonControlGroup, Count: held},
			{Kind: rule.Converted, Reason: rule.ReasonControlGroup, Count: heldConv},
		} {
			if x.Count > 0 {
				x.Hour, x.CampaignID = at, "c"
				ts = append(ts, x)
			}
		}
		return controlGroup(summarize(ts, funnelMetrics, lastDay, at, nil), percent)
	}
	require.Nil(t, figures(10, 2, 0, 0, 0))
	for _, c := range []struct {
		c    *control
		want string
	}{
		{figures(10, 1, 10, 3, 10), "Of the users sent it, 10.0 % converted; of those held out, who were sent nothing, 30.0 %: 20.0 points fewer with the message than without it."},
		{figures(10, 1, 20, 2, 10), "10.0 %: as many with the message as without it."},
		{figures(10, 1, 0, 0, 10), "No user was held out in its control group in the last 24 h: there is no one to compare the users sent it with."},
		{figures(0, 0, 4, 1, 100), "It was sent to no one in the last 24 h: there is no one to compare the users held out with."},
	} {
		require.NotNil(t, c.c)
		require.True(t, strings.HasSuffix(c.c.Words, c.want), "%q", c.c.Words)
	}
	c := figures(0, 0, 4, 1, 100)
	require.Equal(t, float64(-1), c.SentRate)
	require.Equal(t, float64(25), c.HeldRate)
}

// A user's timeline says that a conversion was a held-out user's, and
// when they were held out; a sent user's says when they received it.
func TestTimelineSaysAConversionWithoutTheMessage(t *testing.T) {
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	held := rule.Decision{Kind: rule.Converted, Reason: rule.ReasonControlGroup, Rule: "conversion bought",
		Detail: "held out in the control group at " + at.Format(time.RFC3339)}
	require.Equal(t, "converted (conversion bought), without the message — held out in the control group at 2026-03-10 09:00:00 UTC",
		decisionWords(held, time.UTC, nil))
	sent := rule.Decision{Kind: rule.Converted, Rule: "conversion bought", Detail: "received at " + at.Format(time.RFC3339)}
	require.Equal(t, "converted (conversion bought) — received at 2026-03-10 09:00:00 UTC", decisionWords(sent, time.UTC, nil))
}
