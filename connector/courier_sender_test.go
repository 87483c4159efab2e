package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// TestSenderOwnsItsDelivery checks that a sender may change the Delivery
// it gets, nested properties and message included, without changing the
// stored delivery, its retry, or the campaign.
func TestSenderOwnsItsDelivery(t *testing.T) {
	properties := func() map[string]any {
		return map[string]any{"sku": "a-1", "cart": map[string]any{"items": []any{"x", map[string]any{"n": json.Number("1")}}}}
	}
	message := `{"subject":"Still thinking about it?"}`
	clk := clock.NewMock()
	mem := store.NewMemory()
	var got []connector.Delivery
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		got = append(got, d)
		if d.Attempt > 1 {
			return nil
		}
		p := d.Trigger.Properties
		p["added"] = true
		delete(p, "sku")
		cart := p["cart"].(map[string]any)
		items := cart["items"].([]any)
		items[0] = "changed"
		items[1].(map[string]any)["n"] = json.Number("2")
		cart["total"] = json.Number("9")
		d.Message[2] = 'X'
		return errors.New("provider unavailable")
	})
	e, err := connector.New(mem, send, connector.WithClock(clk), connector.WithSendConcurrency(1),
		connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: time.Hour}))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "o"}))
	require.NoError(t, e.Save(ctx, rule.Campaign{ID: "f", Triggers: []rule.Trigger{{Kind: event.CustomEvent, Name: "cart_updated"}},
		Message: json.RawMessage(message)}))
	require.NoError(t, e.Publish(ctx, "f"))
	require.NoError(t, e.Track(ctx, event.Event{UserID: "u", Kind: event.CustomEvent, Name: "cart_updated", Properties: properties()}))

	n, err := e.Tick(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the first attempt fails")
	u, err := mem.User(ctx, "", "u")
	require.NoError(t, err)
	require.Len(t, u.Pending, 1)
	require.Equal(t, properties(), u.Pending[0].Trigger.Properties, "the stored delivery is as scheduled")
	rec, err := e.Campaign(ctx, "f")
	require.NoError(t, err)
	require.JSONEq(t, message, string(rec.Campaign.Message), "the campaign's message is unchanged")

	clk.Add(time.Minute)
	n, err = e.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, got, 2)
	require.Equal(t, 2, got[1].Attempt)
	require.Equal(t, properties(), got[1].Trigger.Properties, "the retry carries the trigger's properties")
	require.JSONEq(t, message, string(got[1].Message), "and the message")
}

// TestLeaseMustOutlastSendTimeout checks that New rejects a lease that is
// not longer than the send timeout: a send could outlast the lease that
// keeps other engines from its delivery.
func TestLeaseMustOutlastSendTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []connector.Option
		ok   bool
	}{
		{"lease longer", []connector.Option{connector.WithLease(time.Minute), connector.WithSendTimeout(30 * time.Second)}, true},
		{"no send timeout", []connector.Option{connector.WithLease(time.Second)}, true},
		{"equal", []connector.Option{connector.WithLease(time.Minute), connector.WithSendTimeout(time.Minute)}, false},
		{"shorter, in either order", []connector.Option{connector.WithSendTimeout(2 * time.Minute), connector.WithLease(time.Minute)}, false},
		{"longer than the default lease", []connector.Option{connector.WithSendTimeout(5 * time.Minute)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connector.New(store.NewMemory(), noop, tc.opts...)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, connector.ErrInvalidOption)
			require.ErrorContains(t, err, "must be longer than the send timeout")
		})
	}
}
