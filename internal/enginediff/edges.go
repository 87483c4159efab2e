package enginediff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

func edgeCampaigns() []rule.Campaign {
	visits := func(id string, policy rule.PendingPolicy, re rule.Reeligibility) rule.Campaign {
		return rule.Campaign{ID: id, Triggers: []rule.Trigger{{Kind: event.CustomEvent, Name: "visit"}},
			Exceptions: []rule.Exception{{Kind: event.CustomEvent, Name: "visit"}}, Delay: rule.After(time.Hour),
			PendingPolicy: policy, Reeligibility: re}
	}
	return []rule.Campaign{
		{ID: "news"},
		visits("keep", rule.KeepFirst, rule.OnceOnly()),
		visits("replace", rule.ReplaceWithLatest, rule.ReeligibleAfter(2*time.Hour)),
		visits("parallel", rule.AllowParallel, rule.ReeligibleAfter(0)),
		{ID: "days", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}}, Delay: rule.InDaysAt(1, 2, 30),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}, Reeligibility: rule.ReeligibleAfter(time.Hour)},
		{ID: "weekday", Triggers: []rule.Trigger{{Kind: event.EmailOpened, CampaignID: "news"}}, Delay: rule.NextWeekdayAt(time.Sunday, 2, 30),
			PendingPolicy: rule.ReplaceWithLatest, Reeligibility: rule.ReeligibleAfter(0)},
	}
}

// playEdges plays seed's events on s and returns the decisions and sends,
// in order, times in UTC.
func playEdges(t *testing.T, s store.Store, ns string, seed uint64) []string {
	ctx := context.Background()
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 27, 20, 0, 0, 0, time.UTC)) // the clocks go forward on Sunday the 29th
	var mu sync.Mutex
	var lines []string
	note := func(line string) {
		mu.Lock()
		lines = append(lines, line)
		mu.Unlock()
	}
	observe := connector.ObserverFunc(func(d rule.Decision) {
		note(fmt.Sprintf("%s %s %s %s/%s ev=%s delivery=%s due=%s %s", d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.Reason,
			d.CampaignID, d.UserID, d.EventID, d.DeliveryID, d.DueAt.UTC().Format(time.RFC3339Nano), d.Detail))
	})
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		note(fmt.Sprintf("send %s %s/%s at %s", d.ID, d.CampaignID, d.UserID, clk.Now().UTC().Format(time.RFC3339Nano)))
		return nil
	})
	e, err := connector.New(s, send, connector.WithClock(clk), connector.WithNamespace(ns), connector.WithObserver(observe),
		connector.WithSendConcurrency(1), connector.WithLocation(paris), connector.WithDecisionLog(50, 30*24*time.Hour))
	require.NoError(t, err)
	for _, c := range edgeCampaigns() {
		require.NoError(t, e.Save(ctx, c))
	}
	for _, id := range []string{"keep", "replace", "parallel", "days", "weekday", "news"} {
		require.NoError(t, e.Publish(ctx, id))
	}
	r := rand.New(rand.NewPCG(seed, 0x65646765))
	n := 0
	var past []event.Event
	newEvent := func() event.Event {
		if len(past) > 0 && r.IntN(6) == 0 {
			return past[r.IntN(len(past))] // a provider's retry
		}
		n++
		ev := event.Event{ID: fmt.Sprint("e", n), UserID: fmt.Sprint("u", r.IntN(3))}
		switch r.IntN(3) {
		case 0:
			ev.Kind, ev.Name = event.CustomEvent, "visit"
		case 1:
			ev.Kind, ev.CampaignID = event.EmailReceived, "news"
		default:
			ev.Kind, ev.CampaignID = event.EmailOpened, "news"
		}
		if r.IntN(3) == 0 {
			ev.ID = ""
		}
		// Stamped to the second, up to an hour back: same-second pairs
		// and events reported out of order.
		ev.Time = clk.Now().Add(-time.Duration(r.IntN(4)) * 20 * time.Minute).Truncate(time.Second)
		past = append(past, ev)
		return ev
	}
	for range 80 {
		switch w := r.IntN(10); {
		case w < 4:
			if err := e.Track(ctx, newEvent()); err != nil {
				note("error " + err.Error())
			}
		case w < 6:
			var evs []event.Event
			for range 2 + r.IntN(5) {
				evs = append(evs, newEvent())
			}
			if err := e.TrackAll(ctx, evs); err != nil {
				note("error " + err.Error())
			}
		default:
			advance(t, e, s, clk, ns, time.Duration(1+r.IntN(120))*time.Minute)
		}
	}
	advance(t, e, s, clk, ns, 10*24*time.Hour)
	return lines
}
