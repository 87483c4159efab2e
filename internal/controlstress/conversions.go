package controlstress

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// converting is the follow-up with a conversion: its control group is
// enrolled by the engines, and the host reports the receipts of its sends.
const converting = "fd"

// conversion is its conversion: a purchase within 20 minutes of a receipt.
var conversion = rule.Conversion{ID: "bought", Kind: event.Purchase, Deadline: 20 * time.Minute}

// convKind tells the events that open and close conversion windows apart.
type convKind uint8

const (
	receiptEvent convKind = iota
	purchaseEvent
	enrolEvent // the engines' enrolment of a user in the control group
)

// convEvent is a receipt (the host's or an enrolment) or a purchase, as
// the engines took it.
type convEvent struct {
	kind convKind
	user string
	at   time.Time
	id   string
}

// hostEvent is an event the host reports at a time: to one engine, or
// with pair to both at once (each its own event), or, with copies, again
// that many steps later to the other engine with the same ID and time (a
// provider's retry).
type hostEvent struct {
	at     time.Time
	order  int
	engine int
	ev     event.Event
	pair   bool
	copies int
	copy   bool
}

// convs holds the events the host will report and those the engines took,
// in the order they took them.
type convs struct {
	host      []hostEvent
	hostOrder int
	convLog   []convEvent
}

// addHost plans ev for at (under w.mu).
func (w *world) addHost(h hostEvent) {
	w.hostOrder++
	h.order = w.hostOrder
	w.host = append(w.host, h)
}

// planReceipts plans, under w.mu, the host's receipts of a send the
// sender accepted at now (key names the send): one a few steps later, and
// sometimes another up to 35 minutes later, which opens a window of its
// own if the first one's closed; and purchases after it.
func (w *world) planReceipts(user, key string, now time.Time, h uint64) {
	rcpt := func(n int, at time.Time, engine int) {
		w.addHost(hostEvent{at: at, engine: engine, ev: event.Event{ID: fmt.Sprintf("rcpt-%s-%d", key, n), UserID: user,
			Kind: event.SMSReceived, CampaignID: converting}})
	}
	rcpt(1, now.Add(time.Duration(h>>40%4)*step), int(h>>44%2))
	if h>>46%2 == 0 {
		rcpt(2, now.Add(time.Duration(1+h>>48%35)*time.Minute), int(h>>45%2))
	}
	w.planPurchasesAfter(user, key, now, h)
}

// planPurchasesAfter plans, under w.mu, zero to three purchases of user
// from a minute before from to 25 minutes after it: some from both
// engines at once, some reported again.
func (w *world) planPurchasesAfter(user, key string, from time.Time, h uint64) {
	for k := range int(h >> 50 % 4) {
		g := hash(w.seed, key, 10+k)
		w.addHost(hostEvent{
			at:     from.Add(time.Duration(int(g%520)-20) * step),
			engine: int(g >> 10 % 2),
			ev:     event.Event{ID: fmt.Sprintf("buy-%s-%d", key, k), UserID: user, Kind: event.Purchase},
			pair:   g>>12%4 == 0,
			copies: int(g >> 14 % 8), // 0 to 3: a copy that many steps later
		})
	}
}

// planPurchases plans a purchase of each user at a random time, most with
// no window open.
func (w *world) planPurchases() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for u := range users + lateUsers {
		at := start.Add(time.Duration(w.rng.Int64N(int64(end.Sub(start)))))
		w.addHost(hostEvent{at: at, engine: w.rng.IntN(2),
			ev: event.Event{ID: fmt.Sprintf("buy-any-%d", u), UserID: fmt.Sprint("u", u), Kind: event.Purchase}})
	}
}

// hostEventsLeft is how many host events are still to report.
func (w *world) hostEventsLeft() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.host)
}

// logConv notes, under w.mu, an event the engines took that opens or
// closes a conversion window.
func (w *world) logConv(kind convKind, user string, at time.Time, id string) {
	w.convLog = append(w.convLog, convEvent{kind, user, at, id})
}

// trackHostEvents reports the host events whose time has come, in their
// order: the engines are all idle or in a send meanwhile.
func (w *world) trackHostEvents(ctx context.Context) {
	now := w.clk.Now()
	w.mu.Lock()
	var due []hostEvent
	kept := w.host[:0]
	for _, h := range w.host {
		if h.at.After(now) {
			kept = append(kept, h)
		} else {
			due = append(due, h)
		}
	}
	w.host = kept
	w.mu.Unlock()
	slices.SortFunc(due, func(a, b hostEvent) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.order - b.order
	})
	for _, h := range due {
		ev := h.ev
		if !h.copy {
			ev.Time = now
		}
		kind := purchaseEvent
		if ev.Kind != event.Purchase {
			kind = receiptEvent
		}
		if !h.pair {
			must(w.t, w.runners[h.engine].e.Track(ctx, ev))
			w.mu.Lock()
			w.logConv(kind, ev.UserID, ev.Time, ev.ID)
			w.mu.Unlock()
		} else {
			other := ev
			other.ID += "-pair"
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, e := range []event.Event{ev, other} {
				wg.Go(func() { errs[i] = w.runners[i].e.Track(ctx, e) })
			}
			wg.Wait()
			for _, err := range errs {
				must(w.t, err)
			}
			w.mu.Lock()
			w.logConv(kind, ev.UserID, ev.Time, ev.ID)
			w.logConv(kind, other.UserID, other.Time, other.ID)
			w.mu.Unlock()
		}
		if h.copies > 0 && h.copies < 4 {
			w.mu.Lock()
			w.addHost(hostEvent{at: now.Add(time.Duration(h.copies) * step), engine: 1 - h.engine, ev: ev, copy: true})
			w.mu.Unlock()
		}
	}
}

// checkConversions counts, from the events the engines took in their
// order, the conversions of each user: a receipt or an enrolment opens a
// window when none is open, the first purchase in it (an ID the user has
// not sent before) converts and closes it, a held-out user's conversion
// when an enrolment opened it (a receipt in that window takes its place:
// the user has the message). It checks that the observers, the decision
// log and the tallies (tallied, of users sent the follow-up, and
// talliedHeld, of held-out users) count the same.
func (w *world) checkConversions(tallied, talliedHeld int64) (receipts, purchases, conversions int) {
	t := w.t
	t.Helper()
	type window struct {
		open, held bool
		from       time.Time
	}
	wins := map[string]*window{}
	seen := map[string]bool{}
	want, wantHeld := map[string]int{}, map[string]int{}
	for _, c := range w.convLog {
		win := wins[c.user]
		if win == nil {
			win = &window{}
			wins[c.user] = win
		}
		switch c.kind {
		case receiptEvent, enrolEvent:
			receipts++
			// A receipt in an enrolment's window takes its place: the user
			// has the message.
			if !win.open || !c.at.Before(win.from.Add(conversion.Deadline)) || win.held && c.kind == receiptEvent {
				win.open, win.from, win.held = true, c.at, c.kind == enrolEvent
			}
		case purchaseEvent:
			if seen[c.user+"/"+c.id] {
				continue
			}
			seen[c.user+"/"+c.id] = true
			purchases++
			if win.open && !c.at.Before(win.from) && c.at.Before(win.from.Add(conversion.Deadline)) {
				want[c.user]++
				if win.held {
					wantHeld[c.user]++
				}
				win.open = false
			}
		}
	}
	got, gotHeld := map[string]int{}, map[string]int{}
	for _, d := range w.decs {
		if d.Kind == rule.Converted {
			if d.CampaignID != converting {
				t.Errorf("conversion of %s: %v", d.CampaignID, d)
			}
			got[d.UserID]++
			if d.Reason == rule.ReasonControlGroup {
				gotHeld[d.UserID]++
			}
		}
	}
	held := 0
	ctx := context.Background()
	for u := range users + lateUsers {
		user := fmt.Sprint("u", u)
		x, err := w.runners[0].e.Explain(ctx, user, converting)
		must(t, err)
		logged := 0
		for _, d := range x.Decisions {
			if d.Kind == rule.Converted {
				logged++
			}
		}
		if got[user] != want[user] || logged != want[user] {
			t.Errorf("user %s: %d conversions expected, %d observed, %d in Explain%s", user, want[user], got[user], logged, w.convStory(user))
		}
		if gotHeld[user] != wantHeld[user] {
			t.Errorf("user %s: %d conversions held out in the control group expected, %d observed%s", user, wantHeld[user], gotHeld[user], w.convStory(user))
		}
		conversions += want[user]
		held += wantHeld[user]
	}
	if tallied != int64(conversions-held) || talliedHeld != int64(held) {
		t.Errorf("tallies: %d conversions of users sent it and %d of users held out, %d and %d expected", tallied, talliedHeld, conversions-held, held)
	}
	return receipts, purchases, conversions
}

// convStory tells the conversion events and decisions of user, for a
// failure's message.
func (w *world) convStory(user string) string {
	var s string
	for _, c := range w.convLog {
		if c.user == user {
			s += fmt.Sprintf("\n\t%s %s %d", c.at.Format(time.TimeOnly), c.id, c.kind)
		}
	}
	for _, d := range w.decs {
		if d.UserID == user && (d.Kind == rule.Converted || d.Kind == rule.HeldOut) {
			s += fmt.Sprintf("\n\tdecision %s %s %s %s %q", d.At.Format(time.TimeOnly), d.Kind, d.Reason, d.EventID, d.Rule)
		}
	}
	return s
}
