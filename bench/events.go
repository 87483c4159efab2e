package main

import (
	"github.com/campaignconnector/campaignconnector/bench/internal/cart"
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
	s.seq++
	id := ""
	if s.ids {
		id = ids.UUID(s.seq*0x9e3779b97f4a7c15, s.seq) // unique: b is the sequence number
	}
	return cart.Event(user, kind, campaignID, id)
}
