package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

func openedIn(user, campaign string) event.Event {
	return event.Event{UserID: user, Kind: event.EmailOpened, CampaignID: campaign}
}

func TestUnknownCampaignsNamesTheLatestFirst(t *testing.T) {
	h := connectortest.New(t)
	h.Save(resendCampaigns...) // drafts: known, in any state
	h.Publish("resend", "newsletter")
	require.Empty(t, h.Engine.UnknownCampaigns(), "none yet")

	h.Track(openedIn("ann", "newsleter"), openedIn("ann", "newsletter"), event.Event{UserID: "ann", Kind: event.Purchase})
	h.Clock.Add(time.Minute)
	require.NoError(t, h.Engine.TrackAll(context.Background(), []event.Event{openedIn("bob", "promo"), openedIn("cy", "newsleter")}))
	h.Clock.Add(time.Minute)
	h.Track(openedIn("dee", "promo"))

	start := connectortest.Start
	require.Equal(t, []connector.UnknownCampaign{
		{ID: "promo", Events: 2, Last: start.Add(2 * time.Minute)},
		{ID: "newsleter", Events: 2, Last: start.Add(time.Minute), Suggestion: "newsletter"},
	}, h.Engine.UnknownCampaigns())
	require.Equal(t, int64(4), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign])

	got := h.Engine.UnknownCampaigns()
	got[0].ID, got[0].Events = "changed", 99
	require.Equal(t, "promo", h.Engine.UnknownCampaigns()[0].ID, "the list returned is a copy")
}

func TestUnknownCampaignsKeepsEightAndDropsTheOneNamedLongestAgo(t *testing.T) {
	h := connectortest.New(t)
	for i := range 8 {
		h.Track(openedIn("ann", fmt.Sprint("typo-", i)))
		h.Clock.Add(time.Second)
	}
	h.Track(openedIn("ann", "typo-0")) // named again: now the latest
	h.Clock.Add(time.Second)
	h.Track(openedIn("ann", "typo-8")) // takes typo-1's place, named longest ago

	list := h.Engine.UnknownCampaigns()
	require.Len(t, list, 8)
	var ids []string
	for _, u := range list {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"typo-8", "typo-0", "typo-7", "typo-6", "typo-5", "typo-4", "typo-3", "typo-2"}, ids)
	require.Equal(t, int64(2), list[1].Events)
}

func TestUnknownCampaignsUnderAFloodOfMadeUpIDs(t *testing.T) {
	h := connectortest.New(t)
	const n = 5000
	events := make([]event.Event, n)
	for i := range events {
		events[i] = openedIn(fmt.Sprint("user-", i%97), fmt.Sprint("made-up-", i))
	}
	require.NoError(t, h.Engine.TrackAll(context.Background(), events))
	require.Len(t, h.Engine.UnknownCampaigns(), 8, "bounded")
	require.Equal(t, int64(n), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign], "the count stays exact")
}

func TestUnknownCampaignsCountsEveryEventUnderConcurrency(t *testing.T) {
	h := connectortest.New(t)
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := openedIn(fmt.Sprint("user-", w), fmt.Sprint("typo-", (w+i)%5))
				if err := h.Engine.Track(context.Background(), ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for _, u := range h.Engine.UnknownCampaigns() {
		total += u.Events
	}
	require.Equal(t, int64(workers*each), total, "five IDs fit: every event is in the list's counts")
	require.Len(t, h.Engine.UnknownCampaigns(), 5)
}

func TestUnknownCampaignsGoByArrivalWhateverTheClockSays(t *testing.T) {
	h := connectortest.New(t) // a mock clock that does not move by itself
	for i := range 8 {
		h.Track(openedIn("ann", fmt.Sprint("old-", i)))
	}
	h.Track(openedIn("ann", "new-a"))
	h.Clock.Set(connectortest.Start.Add(-time.Hour)) // the clock goes back
	h.Track(openedIn("ann", "new-b"))

	var ids []string
	for _, u := range h.Engine.UnknownCampaigns() {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"new-b", "new-a", "old-7", "old-6", "old-5", "old-4", "old-3", "old-2"}, ids)
	require.Equal(t, connectortest.Start.Add(-time.Hour), h.Engine.UnknownCampaigns()[0].Last, "the time of the latest, as the clock gave it")
}

func TestUnknownCampaignsDropsACampaignOnceSaved(t *testing.T) {
	h := connectortest.New(t)
	h.Track(openedIn("ann", "promo"), openedIn("ann", "newsleter"))
	h.Save(rule.Campaign{ID: "promo"}) // a draft is known
	var ids []string
	for _, u := range h.Engine.UnknownCampaigns() {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"newsleter"}, ids)
	require.Equal(t, int64(2), h.Engine.EventCounts().Ignored[rule.ReasonUnknownCampaign], "the count keeps what was ignored")
}

func TestUnknownCampaignsMakesRoomWithKnownIDsFirst(t *testing.T) {
	h := connectortest.New(t)
	for i := range 8 {
		h.Track(openedIn("ann", fmt.Sprint("t", i)))
	}
	h.Save(rule.Campaign{ID: "t7"})
	h.Track(openedIn("ann", "t8")) // the list is full: t7, now known, leaves rather than t0
	var ids []string
	for _, u := range h.Engine.UnknownCampaigns() {
		ids = append(ids, u.ID)
	}
	require.Equal(t, []string{"t8", "t6", "t5", "t4", "t3", "t2", "t1", "t0"}, ids)
}

func TestUnknownCampaignsSuggestsTheCampaignAnIDMisspells(t *testing.T) {
	h := connectortest.New(t)
	h.Save(rule.Campaign{ID: "spring_sale"}, rule.Campaign{ID: "Welcome"}, rule.Campaign{ID: "promo_a"}, rule.Campaign{ID: "promo_b"})
	h.Track(openedIn("ann", "spring_sael"), openedIn("ann", "welcome"), openedIn("ann", "promo_c"), openedIn("ann", "winter_sale_2027"))
	for _, u := range h.Engine.UnknownCampaigns() {
		require.Empty(t, u.Suggestion, "an ID named once is not looked up: %q", u.ID)
	}
	h.Track(openedIn("bob", "spring_sael"), openedIn("bob", "welcome"), openedIn("bob", "promo_c"), openedIn("bob", "winter_sale_2027"))
	got := map[string]string{}
	for _, u := range h.Engine.UnknownCampaigns() {
		got[u.ID] = u.Suggestion
	}
	require.Equal(t, map[string]string{
		"spring_sael":      "spring_sale", // two letters swapped
		"welcome":          "Welcome",     // case alone
		"promo_c":          "",            // promo_a and promo_b are as near
		"winter_sale_2027": "",            // nothing near
	}, got)

	h.Save(rule.Campaign{ID: "spring_sael2"}) // now as near as spring_sale: a tie
	for _, u := range h.Engine.UnknownCampaigns() {
		if u.ID == "spring_sael" {
			require.Empty(t, u.Suggestion, "the suggestion follows the campaigns the engine knows now")
		}
	}
}

// A sender inventing campaign IDs, each named twice, costs at most 16
// looks through the campaigns a minute: past them, an ID waits for its
// suggestion until the next minute.
func TestUnknownCampaignsBoundsTheLooksForSuggestions(t *testing.T) {
	h := connectortest.New(t)
	for i := range 20 {
		h.Save(rule.Campaign{ID: fmt.Sprintf("promo_%02d", i)})
	}
	suggested := 0
	for i := range 20 {
		id := fmt.Sprintf("promo_%02dx", i) // one letter off promo_<i>
		h.Track(openedIn("ann", id), openedIn("bob", id))
		if u := h.Engine.UnknownCampaigns()[0]; u.ID == id && u.Suggestion != "" {
			require.Equal(t, id[:len(id)-1], u.Suggestion)
			suggested++
		}
	}
	require.Equal(t, 16, suggested, "looks in the first minute")
	h.Clock.Add(time.Minute)
	list := h.Engine.UnknownCampaigns()
	require.Len(t, list, 8)
	for _, u := range list {
		require.Equal(t, u.ID[:len(u.ID)-1], u.Suggestion, "the next minute gives %q its suggestion", u.ID)
	}
}
