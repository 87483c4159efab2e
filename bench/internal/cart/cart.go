// Package cart builds the abandoned-cart workload's events as a host's
// webhook decoder would: fresh strings and maps for each, properties on
// clicks (push_opened) and purchases.
package cart

import (
	"encoding/json"

	"github.com/campaignconnector/campaignconnector/event"
)

// Event returns a fresh event of kind for user, with campaignID and the
// provider event ID id ("" for none).
func Event(user string, kind event.Kind, campaignID, id string) event.Event {
	ev := event.Event{ID: id, UserID: user, Kind: kind, CampaignID: campaignID}
	switch kind {
	case event.Purchase:
		ev.Name = "sku_48213"
		ev.Properties = map[string]any{"price": json.Number("59.90"), "currency": "EUR", "quantity": json.Number("1")}
	case event.PushOpened:
		ev.Properties = map[string]any{"button": "view_cart", "platform": "ios"}
	}
	return ev
}
