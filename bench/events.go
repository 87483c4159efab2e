package main

import (
	"encoding/json"

	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
	"github.com/campaignconnector/campaignconnector/event"
)

// source builds the events a host hands to Track, as its webhook decoder
// would: every call returns fresh strings and maps. With ids set, each
// event carries a provider event ID (a UUID, unique in the run); clicks
// (push_opened) and purchases carry properties.
type source struct {
	ids bool
	seq uint64
}

// event returns a fresh event of kind for user; campaignID as given.
func (s *source) event(user string, kind event.Kind, campaignID string) event.Event {
	ev := event.Event{UserID: user, Kind: kind, CampaignID: campaignID}
	s.seq++
	if s.ids {
		ev.ID = ids.UUID(s.seq*0x9e3779b97f4a7c15, s.seq) // unique: b is the sequence number
	}
	switch kind {
	case event.Purchase:
		ev.Name = "sku_48213"
		ev.Properties = map[string]any{"price": json.Number("59.90"), "currency": "EUR", "quantity": json.Number("1")}
	case event.PushOpened:
		ev.Properties = map[string]any{"button": "view_cart", "platform": "ios"}
	}
	return ev
}
