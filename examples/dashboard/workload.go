package main

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
)

// workload plays the host and its users: it sends the originals on a
// schedule, and the users react to them and to the follow-ups they get
// (open, click, buy) after random delays. Reactions wait in a queue by
// time until the clock reaches them. Safe for concurrent use: the sender
// adds reactions from the engine's send slots.
type workload struct {
	users int
	now   func() time.Time // the engine's clock

	mu      sync.Mutex
	rng     *rand.Rand
	queue   eventQueue
	nextIDs int64
}

func newWorkload(users int, seed uint64, now func() time.Time) *workload {
	return &workload{users: users, now: now, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

// errBounced is what the provider says of an address that never accepts.
var errBounced = errors.New("provider: mailbox unavailable")

// errBusy is a transient provider failure; the engine retries.
var errBusy = errors.New("provider: try again later")

// send is the engine's sender: the provider accepts most deliveries, fails
// some for a moment and always refuses a few users. An accepted delivery
// is reported back as received (which opens its conversion windows), and
// the user may then react to it.
func (w *workload) send(_ context.Context, d connector.Delivery) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if userIndex(d.UserID)%150 == 7 {
		return errBounced
	}
	if w.rng.Float64() < 0.03 {
		return errBusy
	}
	now := w.now()
	receipt := event.EmailReceived
	if d.Channel == event.Push {
		receipt = event.PushReceived
	}
	w.at(now.Add(w.jitter(time.Minute)), d.UserID, receipt, d.CampaignID, "")
	switch d.CampaignID {
	case "cart_reminder":
		w.maybe(0.18, d.UserID, now, 48*time.Hour, event.Purchase, "", "")
	case "coupon_15":
		w.maybe(0.25, d.UserID, now, 36*time.Hour, event.Purchase, "", "")
	}
	return nil
}

// schedule adds what the host sends between from and to: the newsletter
// at 09:00 to a seventh of the users, the free-shipping push at 18:00, the
// promo's hold-outs at 10:00, abandoned carts every hour, and purchases
// that no message prompted.
func (w *workload) schedule(from, to time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for h := from.Truncate(time.Hour).Add(time.Hour); !h.After(to); h = h.Add(time.Hour) {
		switch h.Hour() {
		case 9:
			w.newsletter(h)
		case 10:
			w.promo(h)
		case 18:
			w.freeShipping(h)
		}
		w.carts(h)
		for range w.users / 800 {
			w.at(h.Add(w.jitter(time.Hour)), w.user(), event.Purchase, "", "")
		}
	}
}

func (w *workload) newsletter(at time.Time) {
	for i := range w.users {
		if i%7 != at.YearDay()%7 {
			continue
		}
		u := userID(i)
		w.at(at.Add(w.jitter(10*time.Minute)), u, event.EmailReceived, "newsletter", "")
		w.maybe(0.45, u, at, 60*time.Hour, event.EmailOpened, "newsletter", "")
	}
}

func (w *workload) carts(at time.Time) {
	for range max(1, w.users/250) {
		u := w.user()
		w.at(at.Add(w.jitter(time.Hour)), u, event.PushReceived, "abandoned_cart", "")
		switch r := w.rng.Float64(); {
		case r < 0.20:
			w.maybe(1, u, at, 12*time.Hour, event.PushOpened, "abandoned_cart", "")
		case r < 0.45:
			w.maybe(1, u, at, 30*time.Hour, event.Purchase, "", "")
		}
	}
}

func (w *workload) freeShipping(at time.Time) {
	for range w.users / 20 {
		u := w.user()
		switch r := w.rng.Float64(); {
		case r < 0.15:
			w.maybe(1, u, at, 6*time.Hour, event.PushOpened, "free_shipping", "")
		case r < 0.22:
			w.maybe(1, u, at, 6*time.Hour, event.PushButtonClicked, "free_shipping", "shop_now")
		}
	}
}

func (w *workload) promo(at time.Time) {
	for range w.users / 60 {
		w.at(at.Add(w.jitter(5*time.Minute)), w.user(), event.ControlGroupEnrolled, "promo", "")
	}
	for range w.users / 200 {
		w.at(at.Add(w.jitter(5*time.Minute)), w.user(), event.ControlGroupEnrolled, "spring_promo", "")
	}
}

// due removes and returns the events that happen at or before now, in
// time order.
func (w *workload) due(now time.Time) []event.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []event.Event
	for w.queue.Len() > 0 && !w.queue[0].Time.After(now) {
		out = append(out, heap.Pop(&w.queue).(event.Event))
	}
	return out
}

// maybe queues, with probability p, an event of the user at a random time
// within within of at.
func (w *workload) maybe(p float64, user string, at time.Time, within time.Duration, kind event.Kind, campaign, target string) {
	if w.rng.Float64() < p {
		w.at(at.Add(w.jitter(within)), user, kind, campaign, target)
	}
}

func (w *workload) at(t time.Time, user string, kind event.Kind, campaign, target string) {
	w.nextIDs++
	ev := event.Event{ID: fmt.Sprintf("ev-%d", w.nextIDs), UserID: user, Kind: kind, CampaignID: campaign, Time: t}
	if kind.HasTarget() {
		ev.Target = target
	}
	heap.Push(&w.queue, ev)
}

func (w *workload) jitter(d time.Duration) time.Duration {
	return time.Duration(w.rng.Int64N(int64(d)))
}

func (w *workload) user() string { return userID(w.rng.IntN(w.users)) }

func userID(i int) string { return fmt.Sprintf("user-%05d", i) }

func userIndex(id string) int {
	var i int
	_, _ = fmt.Sscanf(id, "user-%d", &i)
	return i
}

// eventQueue orders events by time (container/heap).
type eventQueue []event.Event

func (q eventQueue) Len() int           { return len(q) }
func (q eventQueue) Less(i, j int) bool { return q[i].Time.Before(q[j].Time) }
func (q eventQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)        { *q = append(*q, x.(event.Event)) }
func (q *eventQueue) Pop() any {
	old := *q
	ev := old[len(old)-1]
	*q = old[:len(old)-1]
	return ev
}
