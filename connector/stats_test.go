package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestEventCountsNeverGoDown reads EventCounts while Track and TrackAll
// run on several goroutines: every count only grows from one read to the
// next (they feed monotonic counters), Unheard never counts an event that
// reached a follow-up, and the last read is exact.
func TestEventCountsNeverGoDown(t *testing.T) {
	for _, mixed := range []bool{false, true} {
		t.Run(fmt.Sprintf("mixed=%v", mixed), func(t *testing.T) { testEventCountsNeverGoDown(t, mixed) })
	}
}

// testEventCountsNeverGoDown sends events that all reach the follow-up,
// or, mixed, rounds of three that do, one that names an unknown campaign
// and one nothing listens to.
func testEventCountsNeverGoDown(t *testing.T, mixed bool) {
	ctx := context.Background()
	e, err := connector.New(store.NewMemory(), noop)
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, []rule.Campaign{{ID: "n"}, {ID: "f",
		Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "n"}}, Delay: rule.After(time.Hour),
		PendingPolicy: rule.AllowParallel}}))
	const workers, rounds = 4, 400
	round := func(w, i int) []event.Event {
		u := fmt.Sprintf("user-%d-%d", w, i%40)
		evs := []event.Event{
			{UserID: u, Kind: event.EmailOpened, CampaignID: "n"},
			{UserID: u, Kind: event.EmailOpened, CampaignID: "n"},
			{UserID: u, Kind: event.EmailOpened, CampaignID: "n"},
			{UserID: u, Kind: event.EmailOpened, CampaignID: "typo"},
			{UserID: u, Kind: event.EmailClicked, CampaignID: "n"},
		}
		if !mixed {
			evs[3].CampaignID, evs[4].Kind = "n", event.EmailOpened
		}
		return evs
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				evs := round(w, i)
				if i%2 == 0 {
					require.NoError(t, e.TrackAll(ctx, evs))
					continue
				}
				for _, ev := range evs {
					require.NoError(t, e.Track(ctx, ev))
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	var prev store.EventCounts
	check := func(c store.EventCounts) {
		unknown, prevUnknown := c.Ignored[rule.ReasonUnknownCampaign], prev.Ignored[rule.ReasonUnknownCampaign]
		require.GreaterOrEqual(t, c.Tracked, prev.Tracked, "Tracked went down")
		require.GreaterOrEqual(t, c.Unheard, prev.Unheard, "Unheard went down")
		require.GreaterOrEqual(t, unknown, prevUnknown, "unknown campaigns went down")
		if !mixed {
			require.Zero(t, c.Unheard, "Unheard counts events that reached a follow-up: %+v", c)
		}
		prev = c
	}
	for reads := 0; ; reads++ {
		select {
		case <-done:
			check(e.EventCounts())
			const n = workers * rounds
			want := store.EventCounts{Tracked: 5 * n}
			if mixed {
				want.Unheard, want.Ignored = n, map[rule.Reason]int64{rule.ReasonUnknownCampaign: n}
			}
			require.Equal(t, want, prev)
			t.Logf("%d reads while tracking", reads)
			return
		default:
			check(e.EventCounts())
		}
	}
}
