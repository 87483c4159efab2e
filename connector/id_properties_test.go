package connector_test

import (
	"testing"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/stretchr/testify/require"
)

// TestEventsWithoutIDThatDifferInPropertiesOnlyShareADeliveryID: the ID
// of a trigger without an event ID leaves its properties out, so two
// purchases at the same second, of different prices, sent one after the
// other, give deliveries with one ID: a host deduplicating on it sends
// the second to nobody. Only the provider's event ID tells them apart.
func TestEventsWithoutIDThatDifferInPropertiesOnlyShareADeliveryID(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(rule.Campaign{ID: "thanks", Reeligibility: rule.ReeligibleAfter(0),
		Triggers: []rule.Trigger{{Kind: event.Purchase}}})
	buy := func(id string, price float64) event.Event {
		return event.Event{ID: id, UserID: "u", Kind: event.Purchase, Name: "sku1", Time: connectortest.Start,
			Properties: map[string]any{"price": price}}
	}
	h.Track(buy("", 10))
	h.Tick()
	h.Track(buy("", 99))
	h.Tick()
	sent := h.SentTo("u", "thanks")
	require.Len(t, sent, 2)
	require.Equal(t, sent[0].ID, sent[1].ID)

	t.Run("with event IDs, two IDs", func(t *testing.T) {
		h := connectortest.New(t)
		h.Apply(rule.Campaign{ID: "thanks", Reeligibility: rule.ReeligibleAfter(0),
			Triggers: []rule.Trigger{{Kind: event.Purchase}}})
		h.Track(buy("p1", 10))
		h.Tick()
		h.Track(buy("p2", 99))
		h.Tick()
		sent := h.SentTo("u", "thanks")
		require.Len(t, sent, 2)
		require.NotEqual(t, sent[0].ID, sent[1].ID)
	})
}
