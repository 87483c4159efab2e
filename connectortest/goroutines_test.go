package connectortest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// Events tracked from several goroutines at once (a test of a handler
// that serves webhooks concurrently) all count, as docs/testing.md says;
// the clock then moves from one goroutine.
func TestTrackFromSeveralGoroutines(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "promo"}, rule.Campaign{
		ID:       "coupon",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "promo"}},
		Delay:    rule.After(time.Hour),
	})
	var users []string
	for i := range 16 {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			if err := h.Simulator.Track(event.Event{UserID: u, Kind: event.EmailOpened, CampaignID: "promo"}); err != nil {
				t.Errorf("Track(%s): %v", u, err)
			}
		})
	}
	wg.Wait()
	if n := h.Advance(time.Hour); n != len(users) {
		t.Errorf("Advance sent %d, want %d", n, len(users))
	}
	h.RequireRecipients("coupon", users...)
	for _, u := range users {
		h.RequireSentAt(u, "coupon", connectortest.Start.Add(time.Hour))
	}
}
