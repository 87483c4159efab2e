package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// pagedFake is a fake with an original and 25 follow-ups of it (more than
// a page), each with tallies in the last day.
func pagedFake() *fakeSource {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	for i := range followUpsPage + 5 {
		id := fmt.Sprintf("fu-%02d", i)
		f.add(rule.Campaign{ID: id, Delay: rule.After(time.Hour),
			Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}}}, rule.Active)
		f.tallies = append(f.tallies, tally{Hour: fixtureNow.Truncate(time.Hour), CampaignID: id, Kind: rule.Scheduled, Count: int64(i + 1)})
	}
	return f
}

func TestCampaignsPageAsksForTheTalliesOfTheFollowUpsItShows(t *testing.T) {
	f := pagedFake()
	h := mustHandler(t, f)
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("fu-%02d", i))
		}
		return out
	}
	for _, c := range []struct {
		target string
		want   []string
	}{
		{"/", ids(0, followUpsPage)},
		{"/?after=fu-19", ids(followUpsPage, followUpsPage+5)},
	} {
		f.talliesAsked = nil
		body(t, get(t, h, c.target), http.StatusOK)
		if len(f.talliesAsked) != 1 {
			t.Fatalf("%s: %d queries of tallies, want 1", c.target, len(f.talliesAsked))
		}
		q := f.talliesAsked[0]
		if got := slices.Sorted(slices.Values(q.CampaignIDs)); !slices.Equal(got, c.want) || q.CampaignID != "" {
			t.Errorf("%s: asked for campaign %q and %v, want the follow-ups shown %v", c.target, q.CampaignID, got, c.want)
		}
	}
}

func TestCampaignsPageIsTheSameFromAStoreThatIgnoresTheList(t *testing.T) {
	f := pagedFake()
	h := mustHandler(t, f)
	for _, target := range []string{"/", "/?after=fu-19"} {
		listed := body(t, get(t, h, target), http.StatusOK)
		f.allCampaigns = true
		all := body(t, get(t, h, target), http.StatusOK)
		f.allCampaigns = false
		if listed != all {
			t.Errorf("%s: the page differs when the store returns every campaign's tallies", target)
		}
		if got := number(t, all, `data-metric="scheduled" data-window="24h"`); got < 1 {
			t.Errorf("%s: no figures", target)
		}
	}
}

func TestCampaignsPageWithoutFollowUpsAsksForNoTallies(t *testing.T) {
	f := newFake(fixtureNow)
	f.add(rule.Campaign{ID: "newsletter"}, rule.Active)
	f.tallies = []tally{{Hour: fixtureNow.Truncate(time.Hour), CampaignID: "", Kind: rule.Ignored, Count: 1}}
	body(t, get(t, mustHandler(t, f), "/"), http.StatusOK)
	if len(f.talliesAsked) != 0 {
		t.Errorf("asked for tallies %+v with no follow-up shown", f.talliesAsked)
	}
}
