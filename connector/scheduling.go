package connector

import (
	"math"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/props"
	"github.com/campaignconnector/campaignconnector/internal/wordhash"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// evaluate decides whether trigger r, t.triggers[i], schedules its
// follow-up for this user, checking in order: the trigger at or after the
// follow-up's activation, the original active, the trigger's age, its
// lead over the clock, the start, the audience, the pending policy, re-eligibility, then the due
// time against the send window and the end. The user's deliveries and
// receipts are grouped by trigger (groupPending): evaluating costs what
// concerns r's follow-up.
func (t *tracker) evaluate(u *store.UserState, i int, r triggerRef, inAudience bool) {
	c, ev := r.c, t.ev
	camp := &c.Campaign
	observed := t.e.observed
	suppress := func(reason rule.Reason, detail func() string) {
		t.marks.addPair(t.e, c, camp.ID, rule.Suppressed, reason)
		if observed {
			d := t.decision(rule.Suppressed, reason, c)
			d.Rule = r.desc
			if detail != nil {
				d.Detail = detail()
			}
			t.decisions = append(t.decisions, d)
		}
	}
	activatedAt := c.ActivatedAt
	if t.only != nil {
		activatedAt = t.since // a backfill counts interactions from its start
	}
	switch {
	case ev.Time.Before(activatedAt):
		suppress(rule.ReasonBeforeActivation, func() string { return "activated at " + stamp(activatedAt) })
		return
	case r.t.CampaignID != "" && !t.e.originCounts(r.origin):
		suppress(rule.ReasonOriginalNotActive, nil)
		return
	case t.e.cfg.maxTriggerAge > 0 && t.now.Sub(ev.Time) > t.e.cfg.maxTriggerAge:
		suppress(rule.ReasonTriggerTooOld, func() string { return "happened " + t.now.Sub(ev.Time).String() + " ago" })
		return
	case t.e.cfg.maxTriggerLead > 0 && ev.Time.Sub(t.now) > t.e.cfg.maxTriggerLead:
		suppress(rule.ReasonTriggerTooFarAhead, func() string {
			return "stamped " + stamp(ev.Time) + ", " + lead(ev.Time, t.now) + " ahead of the clock"
		})
		return
	case !camp.Start.IsZero() && ev.Time.Before(camp.Start):
		suppress(rule.ReasonOutsideDuration, func() string { return "before start " + stamp(camp.Start) })
		return
	case !inAudience:
		suppress(rule.ReasonNotInAudience, func() string { return "not in " + camp.Audience })
		return
	}
	g := &t.groups
	parallel := camp.PendingPolicy == rule.AllowParallel
	if !parallel {
		for j := g.head[i]; j >= 0; j = g.next[j] { // the follow-up's deliveries
			// A waiting delivery stays under KeepFirst, while being sent,
			// and under ReplaceWithLatest when its trigger is the later
			// one (this trigger was reported late).
			if p := u.Pending[j]; camp.PendingPolicy == rule.KeepFirst || p.Sending || p.Trigger.Time.After(ev.Time) {
				suppress(rule.ReasonAlreadyPending, func() string {
					if camp.PendingPolicy == rule.ReplaceWithLatest && !p.Sending {
						return "delivery " + p.ID + " due " + stamp(p.DueAt) + " has the later trigger, at " + stamp(p.Trigger.Time)
					}
					return "delivery " + p.ID + " due " + stamp(p.DueAt)
				})
				return
			}
		}
	}
	if k := g.receipt[i]; k >= 0 {
		if rc := u.Receipts[k]; !camp.Reeligibility.Allows(rc.At, ev.Time) {
			suppress(rule.ReasonNotReeligible, func() string { return "received at " + stamp(rc.At) + ", " + camp.Reeligibility.String() })
			return
		}
	}
	due := camp.Delay.DueAt(ev.Time, t.loc)
	// A due time that has passed (a late or backdated trigger) means at
	// once: the window is judged now, when the delivery will go.
	at := due
	if at.Before(t.now) {
		at = t.now
	}
	if w := camp.SendWindow; w != nil && !w.Contains(at, t.loc) {
		if !w.NextAvailable {
			suppress(rule.ReasonOutsideSendWindow, func() string {
				where := " in " + zoneWords(t.loc, t.locByDirectory, at) + ", at " + localWords(at, t.loc)
				if at.After(due) {
					return "due " + stamp(due) + ", at once: " + stamp(at) + ", window " + w.String() + where
				}
				return "due " + stamp(due) + ", window " + w.String() + where
			})
			return
		}
		due = w.Next(at, t.loc) // from now, for a late trigger: not an opening already past
	}
	if !camp.End.IsZero() && !due.Before(camp.End) {
		suppress(rule.ReasonOutsideDuration, func() string { return "due " + stamp(due) + ", not before end " + stamp(camp.End) })
		return
	}
	if !parallel { // replace the waiting deliveries, removed after the last trigger
		g.replace(u, i, func(old *store.Pending) {
			t.marks.add(t.e, c, camp.ID, tcReplaced, "")
			if observed {
				d := pendingDecision(rule.Cancelled, rule.ReasonReplaced, old, t.now)
				d.Detail = "replaced by the trigger at " + stamp(ev.Time)
				t.decisions = append(t.decisions, d)
			}
		})
	}
	t.schedule(u, i, r, due)
}

// schedule adds the pending delivery of r's follow-up, t.triggers[i], due
// at due.
func (t *tracker) schedule(u *store.UserState, i int, r triggerRef, due time.Time) {
	c, ev := r.c, t.ev
	camp := &c.Campaign
	p := u.NewPending()
	*p = store.Pending{
		ID:         c.ids.delivery(ev), // deliveryID(namespace, camp.ID, ev)
		CampaignID: camp.ID,
		Activation: c.Activation,
		Trigger:    *ev,
		DueAt:      due,
		ReadyAt:    due.Add(t.e.cfg.lateness),
		Control:    camp.ControlPercent > 0 && rule.ControlBucket(ev.UserID, camp.ID) < camp.ControlPercent,
		Backfilled: t.only != nil,
	}
	if len(ev.Properties) > 0 {
		p.Trigger.Properties = props.Clone(ev.Properties) // the host may reuse its maps after Track
	}
	p.ID = t.groups.uniqueID(u, i, p.ID) // the same trigger twice (no event ID, same time): keep IDs unique
	u.Pending = append(u.Pending, p)
	late := !camp.Delay.IsZero() && due.Before(t.now)
	t.marks.add(t.e, c, camp.ID, scheduledCode(late), "")
	if t.e.observed {
		d := pendingDecision(rule.Scheduled, "", p, t.now)
		d.Rule = r.desc
		if late {
			d.Reason, d.Detail = rule.ReasonLate, "late by "+t.now.Sub(due).String()
		}
		if p.Control {
			d.Detail = joinDetail(d.Detail, "control group: nothing will be sent")
		}
		t.decisions = append(t.decisions, d)
	}
	t.scheduled = true
	t.earliest = min(t.earliest, p.ReadyAt.UnixNano())
}

// receiptKinds open conversion windows: the host reports that the user
// received (or saw) a campaign, or the user entered its control group.
var receiptKinds = []event.Kind{
	event.EmailReceived, event.SMSReceived, event.PushReceived, event.WebhookReceived,
	event.InAppMessageViewed, event.ContentCardViewed, event.ControlGroupEnrolled,
}

// maxWindows bounds the windows of one conversion for one user: the one
// open now, and one for a receipt reported out of order. Receipts' times
// come from providers and devices, so the bound keeps a stream of receipts
// dated apart from making the user's state grow.
const maxWindows = 2

// openWindows opens c's conversion windows for a receipt at `at`, tracked
// at now, unless one of the same conversion holds that time (the first
// receipt counts); control says the receipt is the user's entry into c's
// control group, and marks the windows it opens. A user who receives c
// after entering its control group has the message: a receipt inside a
// window of the control group takes its place, and an entry into the
// control group before a receipt's window opens nothing in its place.
// Receipts can be reported out of order, so the windows follow their
// times, not their arrival:
//   - a receipt that happened before the windows it overlaps opened takes
//     their place (their receipts came inside its window and open
//     nothing);
//   - otherwise it takes the place of a window that has ended by now, or
//     gets a window of its own, up to maxWindows;
//   - past that, of the windows and the new one, the one farthest from now
//     goes: it is the least likely to see a conversion.
func openWindows(u *store.UserState, c *campaign, at, now time.Time, control bool) {
	for _, cv := range c.Campaign.Conversions {
		window := store.ConversionWindow{CampaignID: c.Campaign.ID, ConversionID: cv.ID, Opened: at, Deadline: at.Add(cv.Window()), Control: control}
		if !control {
			u.Conversions = slices.DeleteFunc(u.Conversions, func(w store.ConversionWindow) bool {
				return w.Control && w.CampaignID == window.CampaignID && w.ConversionID == window.ConversionID &&
					!at.Before(w.Opened) && at.Before(w.Deadline)
			})
		}
		held, overlaps, ended, farthest, n := false, false, -1, -1, 0
		for i, w := range u.Conversions {
			if w.CampaignID != c.Campaign.ID || w.ConversionID != cv.ID {
				continue
			}
			n++
			switch {
			case !at.Before(w.Opened) && at.Before(w.Deadline):
				held = true
			case at.Before(w.Opened) && w.Opened.Before(window.Deadline):
				overlaps = true
				held = held || control && !w.Control // a receipt's window stays
			case !w.Deadline.After(now):
				ended = i
			}
			if farthest < 0 || fromNow(w, now) > fromNow(u.Conversions[farthest], now) {
				farthest = i
			}
		}
		switch {
		case held:
		case overlaps:
			u.Conversions = replaceOverlapped(u.Conversions, window)
		case ended >= 0: // not yet pruned
			u.Conversions[ended] = window
		case n < maxWindows:
			u.Conversions = append(u.Conversions, window)
		case fromNow(window, now) < fromNow(u.Conversions[farthest], now):
			u.Conversions[farthest] = window
		}
	}
}

// fromNow is how far window w is from now: 0 when it holds now. (Sub
// saturates, centuries away; the nanosecond is not added then.)
func fromNow(w store.ConversionWindow, now time.Time) time.Duration {
	switch {
	case now.Before(w.Opened):
		return w.Opened.Sub(now)
	case !now.Before(w.Deadline):
		if d := now.Sub(w.Deadline); d < math.MaxInt64 {
			return d + time.Nanosecond // an ended window is farther than one opening now
		}
		return math.MaxInt64
	}
	return 0
}

// replaceOverlapped puts w, a window opened by a receipt no window holds,
// in the place of the windows of its conversion that open after it and
// before its deadline: their receipts came inside w, and open nothing.
// (There is one, unless an edit lengthened the window.)
func replaceOverlapped(ws []store.ConversionWindow, w store.ConversionWindow) []store.ConversionWindow {
	kept, placed := ws[:0], false
	for _, x := range ws {
		if x.CampaignID == w.CampaignID && x.ConversionID == w.ConversionID &&
			w.Opened.Before(x.Opened) && x.Opened.Before(w.Deadline) {
			if placed {
				continue
			}
			x, placed = w, true
		}
		kept = append(kept, x)
	}
	clear(ws[len(kept):])
	return kept
}

// convertAll completes the conversion windows the event converts, in one
// pass over them: each conversion completes the first of its windows that
// holds the event's time.
func (t *tracker) convertAll(u *store.UserState) {
	at := t.ev.Time
	t.converted = resize(t.converted, len(t.converts))
	for i := range t.converted {
		t.converted[i] = -1
	}
	found := false
	for k, w := range u.Conversions {
		if at.Before(w.Opened) || !at.Before(w.Deadline) {
			continue
		}
		// A campaign's conversions are next to each other in t.converts.
		for i := t.convertOf(w.CampaignID); i >= 0 && i < len(t.converts) && t.converts[i].c.Campaign.ID == w.CampaignID; i++ {
			if t.converted[i] < 0 && t.converts[i].cv.ID == w.ConversionID {
				t.converted[i], found = int32(k), true
				break
			}
		}
	}
	if !found {
		return
	}
	t.closed = resize(t.closed, len(u.Conversions))
	clear(t.closed)
	for i, k := range t.converted {
		if k >= 0 {
			t.closed[k] = true
			t.convert(u, &t.converts[i], u.Conversions[k])
		}
	}
	kept := u.Conversions[:0]
	for k, w := range u.Conversions {
		if k >= len(t.closed) || !t.closed[k] {
			kept = append(kept, w)
		}
	}
	clear(u.Conversions[len(kept):])
	u.Conversions = kept
}

// convert records that the event completed r's conversion window w
// ([opened, deadline)) and applies the emitted conversion_performed event.
// The conversion of a window the user's entry into the control group
// opened has the reason [rule.ReasonControlGroup], and its own tally: the
// user converted without the message.
func (t *tracker) convert(u *store.UserState, r *convertRef, w store.ConversionWindow) {
	code, reason, detail := tcConverted, rule.Reason(""), "received at "
	if w.Control {
		code, reason, detail = tcConvertedControl, rule.ReasonControlGroup, "held out in the control group at "
	}
	t.marks.add(t.e, r.c, r.c.Campaign.ID, code, "")
	if t.e.observed {
		d := t.decision(rule.Converted, reason, r.c)
		d.Rule = "conversion " + r.cv.ID
		d.Detail = detail + stamp(w.Opened)
		t.decisions = append(t.decisions, d)
	}
	if r.emit != nil {
		r.emit.update(u, false)
		t.merge(r.emit)
	}
}

// originCounts reports whether interactions with original o count now
// for its follow-ups: it must be active, or stopped when the engine accepts
// stopped originals.
func (e *Engine) originCounts(o *campaign) bool {
	return o != nil && (o.State == rule.Active || (e.cfg.acceptStopped && o.State == rule.Stopped))
}

// lead says how far at is after now, in a decision's detail: a duration,
// or, past the ~292 years one holds (Sub saturates), in years.
func lead(at, now time.Time) string {
	if d := at.Sub(now); d < math.MaxInt64 {
		return d.String()
	}
	return "over 292 years"
}

// stamp writes t in a decision's detail, with its fraction of a second
// when it has one: an event stamped 09:00:00 is before an activation at
// 09:00:00.25, and the detail has to show it.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// joinDetail joins two parts of a detail with "; ", leaving out an empty
// one.
func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// signal wakes Run without blocking.
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// deliveryID derives a delivery's ID from what identifies its trigger, so
// that it is the same wherever and however often it is computed: a hash
// (two 64-bit lanes of folded multiplications, eight bytes at a time) over
// namespace, follow-up, user, event ID and event time (and, for an event
// without ID, its kind, campaign, target and name), of which 96 bits
// are written as 16 characters of unpadded URL-safe base64. Sixteen bytes
// are the smallest allocation that holds it, and 96 bits keep the chance
// that two deliveries of a namespace share an ID under one in a billion
// until some ten billion deliveries.
func deliveryID(ns, campaignID string, ev *event.Event) string {
	h := idPrefix(ns, campaignID)
	return h.delivery(ev)
}

// idPrefix is deliveryID's hash state after the namespace and the
// follow-up's ID: each snapshot keeps it per follow-up, so that scheduling
// hashes only the trigger's fields.
func idPrefix(ns, campaignID string) idHash {
	h := idHash{a: 0x243f6a8885a308d3, b: 0x13198a2e03707344}
	h.field(ns)
	h.field(campaignID)
	return h
}

// delivery finishes deliveryID from its prefix h. An event without ID
// is told apart by what it says too (kind, campaign, target, name), so
// that two such events at the same time, a purchase and a custom event,
// say, give two IDs.
func (h idHash) delivery(ev *event.Event) string {
	h.field(ev.UserID)
	h.field(ev.ID)
	h.word(uint64(ev.Time.UnixNano()))
	if ev.ID == "" {
		h.field(string(ev.Kind))
		h.field(ev.CampaignID)
		h.field(ev.Target)
		h.field(ev.Name)
	}
	return h.encode()
}

// variant returns the k-th (k ≥ 1) alternative to delivery ID id, for a
// trigger whose ID a waiting delivery of the same follow-up already has:
// the same trigger tracked twice without an event ID. Variants are IDs of
// the same form, derived from id alone, so the k-th is the same on every
// engine.
func variant(id string, k int) string {
	h := idHash{a: 0x452821e638d01377, b: 0xbe5466cf34e90c6c}
	h.field(id)
	h.word(uint64(k))
	return h.encode()
}

// encode finishes the hash and writes 96 of its bits as an ID.
func (h idHash) encode() string {
	a, b := wordhash.Mix(h.a, 0xa0761d6478bd642f), wordhash.Mix(h.b, 0xe7037ed1a0b428db)
	buf := encodeID(a, b<<4|a>>60) // 60 bits of a, then its last 4 and 32 of b
	return string(buf[:])
}

// idDigits are unpadded URL-safe base64's.
const idDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// encodeID writes the low 60 bits of a then the low 36 bits of b, six bits
// a character, least significant first. It is written out, not a loop: a
// loop spends more on its shifts than the hash does.
func encodeID(a, b uint64) [16]byte {
	const d = idDigits
	return [16]byte{
		d[a&63], d[a>>6&63], d[a>>12&63], d[a>>18&63], d[a>>24&63],
		d[a>>30&63], d[a>>36&63], d[a>>42&63], d[a>>48&63], d[a>>54&63],
		d[b&63], d[b>>6&63], d[b>>12&63], d[b>>18&63], d[b>>24&63], d[b>>30&63],
	}
}

// idHash is the state of deliveryID's hash: two lanes fed the same words,
// each mixed with its own multiplier.
type idHash struct{ a, b uint64 }

func (h *idHash) word(w uint64) {
	h.a = wordhash.Mix(h.a^w, 0x8ebc6af09c88c6e3)
	h.b = wordhash.Mix(h.b^w, 0x589965cc75374cc3)
}

// field hashes s's length, then s eight bytes at a time (the last word
// zero-padded): the length keeps ("ab","c") and ("a","bc") apart.
func (h *idHash) field(s string) {
	h.word(uint64(len(s)) | 1<<63)
	for ; len(s) >= 8; s = s[8:] {
		h.word(wordhash.Word(s))
	}
	if len(s) > 0 {
		h.word(wordhash.Tail(s))
	}
}
