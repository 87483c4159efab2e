package main

import (
	"encoding/json"
	"math/rand/v2"

	"github.com/campaignconnector/campaignconnector/event"
)

// ids returns n distinct user IDs shaped like hosts' own, the same for the
// same prefix and n: about half "usr_" followed by 20 base-62 characters
// (24 bytes), the others UUIDs (36 bytes), in random order. The prefix
// only seeds the generator: sets with different prefixes do not overlap.
func ids(prefix string, n int) []string {
	seed := uint64(14695981039346656037) // FNV-1a of the prefix
	for i := range len(prefix) {
		seed = (seed ^ uint64(prefix[i])) * 1099511628211
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([]string, n)
	seen := make(map[string]struct{}, n)
	for i := range out {
		for {
			var id string
			if r.IntN(2) == 0 {
				id = prefixedID("usr_", r.Uint64(), r.Uint64())
			} else {
				id = uuid(r.Uint64(), r.Uint64())
			}
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				out[i] = id
				break
			}
		}
	}
	return out
}

// prefixedID returns prefix and 20 base-62 digits of a and b.
func prefixedID(prefix string, a, b uint64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	buf := make([]byte, len(prefix)+20)
	copy(buf, prefix)
	for i := len(prefix); i < len(buf); i++ {
		if i < len(prefix)+10 {
			buf[i] = digits[a%62]
			a /= 62
		} else {
			buf[i] = digits[b%62]
			b /= 62
		}
	}
	return string(buf)
}

// uuid formats a and b as a version-4 UUID.
func uuid(a, b uint64) string {
	const hex = "0123456789abcdef"
	a = a&^(0xf<<12) | 4<<12   // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant 10
	var buf [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		w, shift := a, 60-4*i
		if i >= 16 {
			w, shift = b, 60-4*(i-16)
		}
		buf[j] = hex[w>>shift&0xf]
		j++
	}
	return string(buf[:])
}

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
		ev.ID = uuid(s.seq*0x9e3779b97f4a7c15, s.seq) // unique: b is the sequence number
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
