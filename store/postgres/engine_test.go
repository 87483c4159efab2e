package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

type sendCounter struct {
	mu   sync.Mutex
	byID map[string]int
	to   map[string]bool
}

func (c *sendCounter) Send(_ context.Context, d connector.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[d.ID]++
	c.to[d.UserID] = true
	return nil
}

// Two engines on two stores (two replicas), the resend-to-non-openers
// campaign, events tracked through both at nanosecond times, then both
// ticking at once: each non-opener gets the resend exactly once.
func TestEnginesOnTwoStores(t *testing.T) {
	schema := testSchema(t)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC))
	sender := &sendCounter{byID: map[string]int{}, to: map[string]bool{}}
	var engines []*connector.Engine
	for range 2 {
		s := openStore(t, postgres.WithSchema(schema))
		e, err := connector.New(s, sender, connector.WithClock(clk), connector.WithBatchSize(16))
		require.NoError(t, err)
		engines = append(engines, e)
	}
	ctx := context.Background()
	newsletter := rule.Campaign{ID: "newsletter"}
	resend := rule.Campaign{ID: "resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
		Delay: rule.After(7 * 24 * time.Hour), Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
		Message: []byte(`{"subject":"In case you missed it"}`)}
	require.NoError(t, engines[0].Save(ctx, newsletter))
	require.NoError(t, engines[0].Save(ctx, resend))
	require.NoError(t, engines[0].Publish(ctx, "newsletter"))
	require.NoError(t, engines[0].Publish(ctx, "resend"))

	const users = 60
	start := clk.Now()
	for u := range users {
		e := engines[u%2]
		ev := event.Event{ID: fmt.Sprint("rcv-", u), UserID: fmt.Sprint("u", u), Kind: event.EmailReceived,
			CampaignID: "newsletter", Time: start.Add(time.Duration(u) * time.Nanosecond)}
		require.NoError(t, e.Track(ctx, ev))
		require.NoError(t, engines[(u+1)%2].Track(ctx, ev), "the provider's retry, through the other replica")
		if u%3 == 0 {
			require.NoError(t, e.Track(ctx, event.Event{ID: fmt.Sprint("open-", u), UserID: fmt.Sprint("u", u),
				Kind: event.EmailOpened, CampaignID: "newsletter", Time: start.Add(time.Hour)}))
		}
	}
	clk.Add(7*24*time.Hour - time.Microsecond)
	n, err := engines[1].Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is due a microsecond early")

	clk.Add(time.Microsecond + users*time.Nanosecond)
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Tick(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := 0
	for u := range users {
		if u%3 != 0 {
			want++
			require.True(t, sender.to[fmt.Sprint("u", u)], "u%d got the resend", u)
		}
	}
	require.Len(t, sender.byID, want)
	for id, n := range sender.byID {
		require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
	}
	st, err := engines[0].Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.Pending)

	// A campaign change through one replica is seen by the other.
	require.NoError(t, engines[1].Stop(ctx, "resend"))
	require.Eventually(t, func() bool {
		rec, err := engines[0].Campaign(ctx, "resend")
		return err == nil && rec.State == rule.Stopped
	}, 5*time.Second, 5*time.Millisecond)
}
