package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// TestTrackAllOnPostgres tracks one batch — receipts at nanosecond times,
// provider retries, opens, a user's events one after the other in the
// same batch — with TrackAll on PostgreSQL (UpdateBatch) and with Track
// on the memory store, and checks that both leave the same deliveries
// and send the same resends.
func TestTrackAllOnPostgres(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	var evs []event.Event
	for u := range 40 {
		user := fmt.Sprint("u", u)
		rcv := event.Event{ID: fmt.Sprint("rcv-", u), UserID: user, Kind: event.EmailReceived, CampaignID: "newsletter",
			Time: start.Add(time.Duration(u) * time.Nanosecond)}
		evs = append(evs, rcv, rcv) // the provider's retry, in the same batch
		switch u % 4 {
		case 0:
			evs = append(evs, event.Event{ID: fmt.Sprint("open-", u), UserID: user, Kind: event.EmailOpened,
				CampaignID: "newsletter", Time: start.Add(time.Hour)})
		case 1: // opened a nanosecond after the receipt: still strictly after it
			evs = append(evs, event.Event{ID: fmt.Sprint("open-", u), UserID: user, Kind: event.EmailOpened,
				CampaignID: "newsletter", Time: rcv.Time.Add(time.Nanosecond)})
		case 2:
			evs = append(evs, event.Event{UserID: user, Kind: "not_a_kind"})
		}
	}
	run := func(s store.Store, batch bool) (pending []string, sent []string, err error) {
		clk := clock.NewMock()
		clk.Set(start.Add(-time.Minute)) // published before the events
		var mu sync.Mutex                // Tick's send workers call it at once
		send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, d.UserID+" "+d.ID)
			return nil
		})
		e, nerr := connector.New(s, send, connector.WithClock(clk))
		require.NoError(t, nerr)
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "newsletter"}))
		require.NoError(t, e.Save(ctx, rule.Campaign{ID: "resend",
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay:      rule.After(7 * 24 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}}}))
		require.NoError(t, e.Publish(ctx, "resend"))
		require.NoError(t, e.Publish(ctx, "newsletter"))
		clk.Set(start.Add(2 * time.Hour)) // the events arrive late: their times count
		if batch {
			err = e.TrackAll(ctx, evs)
		} else {
			var errs []error
			for i, ev := range evs {
				if terr := e.Track(ctx, ev); terr != nil {
					errs = append(errs, &connector.TrackError{Index: i, Err: terr})
				}
			}
			err = errors.Join(errs...)
		}
		for u := range 40 {
			st, uerr := s.User(ctx, "", fmt.Sprint("u", u))
			if errors.Is(uerr, store.ErrNotFound) {
				continue
			}
			require.NoError(t, uerr)
			for _, p := range st.Pending {
				pending = append(pending, fmt.Sprint("u", u, " ", p.ID, " ", p.CampaignID))
			}
		}
		clk.Add(7 * 24 * time.Hour)
		_, terr := e.Tick(ctx)
		require.NoError(t, terr)
		sort.Strings(pending)
		sort.Strings(sent)
		return pending, sent, err
	}
	wantPending, wantSent, wantErr := run(store.NewMemory(), false)
	gotPending, gotSent, gotErr := run(openStore(t, postgres.WithSchema(testSchema(t))), true)
	require.Len(t, wantPending, 20, "u2 and u3 of every four wait (u0 and u1 opened)")
	require.Equal(t, wantPending, gotPending)
	require.Equal(t, wantSent, gotSent)
	require.Len(t, gotSent, 20)
	require.Error(t, wantErr)
	require.Equal(t, wantErr.Error(), gotErr.Error())
}
