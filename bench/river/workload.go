package main

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/campaignconnector/campaignconnector/bench/internal/cart"

	"github.com/campaignconnector/campaignconnector/bench/internal/ids"
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
	id := ""
	if !s.noIDs {
		n := eventSeq.Add(1)
		id = ids.UUID(n*0x9e3779b97f4a7c15, n) // unique: b is the sequence number
	}
	return cart.Event(user, kind, campaignID, id)
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
