package main

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// workload is the abandoned-cart workload: users each receive the
// abandoned-cart push (the trigger); then 40 % purchase and 20 % open the
// push during the wait (the exceptions cancel their follow-up); the other
// 40 % get the follow-up when the delay ends. Events are tracked from
// trackers goroutines, each with users of its own, so a user's events
// keep their order.
type workload struct {
	users    int
	trackers int
}

// exception returns the exception user i sends during the wait, or "".
func exception(i int) event.Kind {
	switch i % 10 {
	case 0, 1, 2, 3:
		return event.Purchase
	case 4, 5:
		return event.PushOpened
	}
	return ""
}

func (w workload) events() int {
	n := w.users
	for i := range w.users {
		if exception(i) != "" {
			n++
		}
	}
	return n
}

func (w workload) deliveries() int { return w.users*2 - w.events() }

// campaigns is the abandoned-cart flow: the push campaign and its
// reminder, an hour later unless the user purchases or opens the push
// meanwhile; and a newsletter's follow-up a month later, which holds the
// deliveries the scale runs preload (none falls due while the measured
// ones are sent).
func campaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "abandoned_cart"},
		{ID: "cart_reminder", Reeligibility: rule.ReeligibleAfter(0),
			Triggers:   []rule.Trigger{{Kind: event.PushReceived, CampaignID: "abandoned_cart"}},
			Delay:      rule.After(time.Hour),
			Exceptions: []rule.Exception{{Kind: event.Purchase}, {Kind: event.PushOpened, CampaignID: "abandoned_cart"}},
			Message:    []byte(`{"title":"Still thinking it over?"}`)},
		{ID: "newsletter"},
		{ID: "newsletter_resend", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "newsletter"}},
			Delay: rule.After(30 * 24 * time.Hour), Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "newsletter"}},
			Message: []byte(`{"subject":"In case you missed it"}`)},
	}
}

// source builds events as a host's webhook decoder would: fresh strings
// and maps each time, a provider event ID on each (a UUID, unique in the
// process) unless noIDs, properties on clicks (push_opened) and
// purchases.
type source struct{ noIDs bool }

// eventSeq numbers the events of the process, for their IDs.
var eventSeq atomic.Uint64

func (s *source) event(user string, kind event.Kind, campaignID string) event.Event {
	ev := event.Event{UserID: user, Kind: kind, CampaignID: campaignID}
	if !s.noIDs {
		n := eventSeq.Add(1)
		ev.ID = uuid(n*0x9e3779b97f4a7c15, n) // unique: b is the sequence number
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

// trigger returns the trigger of user.
func (s *source) trigger(user string) event.Event {
	return s.event(user, event.PushReceived, "abandoned_cart")
}

// exceptionOf returns the exception user i sends during the wait, if any.
func (s *source) exceptionOf(user string, i int) (event.Event, bool) {
	switch exception(i) {
	case event.Purchase:
		return s.event(user, event.Purchase, ""), true
	case event.PushOpened:
		return s.event(user, event.PushOpened, "abandoned_cart"), true
	}
	return event.Event{}, false
}

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

// inParallel calls f(i) for every i in [0, n) from k goroutines; goroutine
// g takes the i ≡ g (mod k).
func inParallel(n, k int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, k)
	for g := range k {
		wg.Go(func() {
			for i := g; i < n; i += k {
				if err := f(i); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// inBatches calls f with the i in [0, n) in slices of at most size, from k
// goroutines; goroutine g takes the i ≡ g (mod k), in order.
func inBatches(n, k, size int, f func(idx []int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, k)
	for g := range k {
		wg.Go(func() {
			idx := make([]int, 0, size)
			flush := func() bool {
				if len(idx) == 0 {
					return true
				}
				errs[g] = f(idx)
				idx = idx[:0]
				return errs[g] == nil
			}
			for i := g; i < n; i += k {
				if idx = append(idx, i); len(idx) == size && !flush() {
					return
				}
			}
			flush()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
