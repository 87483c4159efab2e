package dashboard

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// troubleFake is populatedFake with deferred sends too, and decisions
// about no campaign, so that every kind the health page shows has
// tallies among many it does not show.
func troubleFake() *fakeSource {
	f := populatedFake()
	end := fixtureNow.Truncate(time.Hour)
	for h := 0; h < 8*24; h += 5 {
		hour := end.Add(-time.Duration(h) * time.Hour)
		f.tallies = append(f.tallies,
			tally{Hour: hour, CampaignID: "resend", Kind: rule.Deferred, Reason: rule.ReasonQuietHours, Count: 4},
			tally{Hour: hour, CampaignID: "", Kind: rule.Ignored, Reason: rule.ReasonUnknownCampaign, Count: 9})
	}
	return f
}

func TestHealthPageAsksForTheTalliesOfTheKindsItShows(t *testing.T) {
	f := troubleFake()
	h := mustHandler(t, f)
	want := []rule.DecisionKind{rule.Deferred, rule.Failed, rule.Ignored, rule.Retried} // ignored: the events naming unknown campaigns
	for _, target := range []string{"/health", "/health?range=7d"} {
		f.talliesAsked = nil
		body(t, get(t, h, target), http.StatusOK)
		if len(f.talliesAsked) != 1 {
			t.Fatalf("%s: %d queries of tallies, want 1", target, len(f.talliesAsked))
		}
		q := f.talliesAsked[0]
		if got := slices.Sorted(slices.Values(q.Kinds)); !slices.Equal(got, want) {
			t.Errorf("%s: asked for kinds %v, want those the page shows %v", target, got, want)
		}
		if q.CampaignID != "" || len(q.CampaignIDs) > 0 {
			t.Errorf("%s: asked for campaign %q and %v, want every campaign", target, q.CampaignID, q.CampaignIDs)
		}
	}
}

func TestHealthPageIsTheSameFromAStoreThatIgnoresTheKinds(t *testing.T) {
	f := troubleFake()
	h := mustHandler(t, f)
	for _, target := range []string{"/health", "/health?range=7d"} {
		selected := body(t, get(t, h, target), http.StatusOK)
		f.allKinds = true
		all := body(t, get(t, h, target), http.StatusOK)
		f.allKinds = false
		if selected != all {
			t.Errorf("%s: the page differs when the store returns the tallies of every kind", target)
		}
		trouble := section(t, all, `data-trouble="resend"`, "</tr>")
		for _, key := range []string{"failed", "retried", "deferred"} {
			if got := number(t, trouble, `data-metric="`+key+`"`); got < 1 {
				t.Errorf("%s: no %s figure", target, key)
			}
		}
	}
}

// The legend of the health page's chart names each kind as the chart's
// bars and the campaign page do, in words, not by its code.
func TestHealthPageLegendNamesTheKindsInWords(t *testing.T) {
	page := body(t, get(t, mustHandler(t, troubleFake()), "/health?range=7d"), http.StatusOK)
	legend := section(t, page, `<ul class="legend">`, "</ul>")
	for _, k := range []rule.DecisionKind{rule.Failed, rule.Retried, rule.Deferred} {
		if want := kindWords(k) + `: <span data-kind="` + string(k) + `"`; !strings.Contains(legend, want) {
			t.Errorf("legend lacks %q:\n%s", want, legend)
		}
	}
}
