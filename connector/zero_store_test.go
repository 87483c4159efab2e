package connector_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// An engine on a zero store.Memory (new(store.Memory), &store.Memory{})
// works as on NewMemory's: it schedules, sends and recycles its claims.
func TestEngineOnAZeroMemoryStore(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var sent []string
	e, err := connector.New(&store.Memory{}, connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		sent = append(sent, d.UserID+" "+d.CampaignID)
		return nil
	}), connector.WithClock(clk))
	require.NoError(t, err)
	require.NoError(t, e.Apply(ctx, chain(time.Hour)))
	require.NoError(t, e.Track(ctx, event.Event{ID: "r1", UserID: "ann", Kind: event.EmailReceived, CampaignID: "news", Time: clk.Now()}))
	clk.Add(time.Hour)
	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"ann resend"}, sent)
	rec, err := e.Campaign(ctx, "resend")
	require.NoError(t, err)
	require.Equal(t, rule.Active, rec.State)
}

// pointerStore is a store of the host's, for TestNewRefusesANilStore.
type pointerStore struct{ store.Store }

// TestNewRefusesANilStore: a nil store, untyped or a nil pointer of any
// store type, is an invalid option rather than a panic later.
func TestNewRefusesANilStore(t *testing.T) {
	for _, s := range []store.Store{nil, (*store.Memory)(nil), (*pointerStore)(nil)} {
		_, err := connector.New(s, noop)
		require.ErrorIs(t, err, connector.ErrInvalidOption)
		require.ErrorContains(t, err, "nil store")
	}
}
