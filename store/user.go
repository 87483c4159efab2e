package store

import (
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// UserState is everything the engine keeps about one user in one namespace.
// The engine reads and changes it inside [Store.Update]; a store persists it
// as it likes (the memory store keeps it as is).
//
// Every slice but Pending holds items with their own expiry, which
// [UserState.Prune] applies; a store that serializes the state may use the
// JSON tags.
type UserState struct {
	// Pending holds the user's pending deliveries, in scheduling order.
	Pending []*Pending `json:"pending,omitempty"`
	// Receipts holds, per follow-up, the last time the user received it:
	// re-eligibility is judged from it.
	Receipts []Receipt `json:"receipts,omitempty"`
	// Sends holds the user's recent deliveries, for frequency caps.
	Sends []Send `json:"sends,omitempty"`
	// Conversions holds the conversion windows open for the user.
	Conversions []ConversionWindow `json:"conversions,omitempty"`
	// Log is the user's decision log, oldest first, when the engine keeps
	// one (it bounds its length and age).
	Log []rule.Decision `json:"log,omitempty"`

	alloc func() *Pending // where NewPending takes its memory from, set by the store
}

// NewPending returns a zeroed Pending for a delivery about to be added to
// u.Pending. Inside [Store.Update] it may come from the store's own
// buffers (the memory store copies it into compact form afterwards), so
// use it for deliveries added there and do not keep the pointer after the
// update function returns.
func (u *UserState) NewPending() *Pending {
	if u.alloc != nil {
		return u.alloc()
	}
	return new(Pending)
}

// Pending is a follow-up scheduled for one user, waiting for its due time or
// being sent.
type Pending struct {
	// ID is the delivery's stable identifier: the same on every attempt
	// and after restarts, so the host can deduplicate.
	ID string `json:"id"`
	// CampaignID is the follow-up to send.
	CampaignID string `json:"campaign_id"`
	// Activation is the follow-up's activation count when this was
	// scheduled: a delivery from an earlier activation is never sent.
	Activation int64 `json:"activation"`
	// Trigger is the event that scheduled it; Trigger.UserID is the user.
	Trigger event.Event `json:"trigger"`
	// DueAt is when it is due. Exceptions cancel it only if they happen
	// strictly between Trigger.Time and DueAt.
	DueAt time.Time `json:"due_at"`
	// ReadyAt is when it may next be claimed: DueAt at first, then the end
	// of a lease, the time of the next retry, or a deferral (send window,
	// quiet hours, rate limit).
	ReadyAt time.Time `json:"ready_at"`
	// Attempt counts the sends tried so far.
	Attempt int `json:"attempt,omitempty"`
	// DirectoryErrors counts the times the send was held back because the
	// directory failed (a send-time check needed the user's zone or
	// segment) since it last answered: the waits before the next try grow
	// with it.
	DirectoryErrors int `json:"directory_errors,omitempty"`
	// Token is the claim token of the current lease, 0 when unclaimed.
	Token uint64 `json:"token,omitempty"`
	// Sending is set when the send has started (after the last check): an
	// exception can no longer stop it.
	Sending bool `json:"sending,omitempty"`
	// CancelOnFailure is set when an exception arrived during the send: if
	// the send fails, the delivery is cancelled rather than retried.
	CancelOnFailure bool `json:"cancel_on_failure,omitempty"`
	// Backfilled marks deliveries scheduled by a backfill on publish.
	Backfilled bool `json:"backfilled,omitempty"`
	// Control marks a control-group hold-out: at its due time nothing is
	// sent, the user counts as having received it, and the engine emits
	// control_group_enrolled.
	Control bool `json:"control,omitempty"`
}

// Receipt records that the user received a follow-up (or was held out of it
// in a control group).
type Receipt struct {
	CampaignID string `json:"campaign_id"`
	// At is when the sender accepted the delivery (the clock at that send).
	At time.Time `json:"at"`
	// Expires is when the receipt stops mattering (after the
	// re-eligibility window); zero means it is kept.
	Expires time.Time `json:"expires,omitzero"`
}

// Send records one delivery for frequency capping.
type Send struct {
	CampaignID string        `json:"campaign_id"`
	Channel    event.Channel `json:"channel,omitempty"`
	At         time.Time     `json:"at"`
	Expires    time.Time     `json:"expires"` // when no cap window can count it any more
}

// ConversionWindow is an open conversion window: the user received
// campaign CampaignID (or entered its control group) at Opened, and the
// first event matching the campaign's [rule.Conversion] ConversionID
// before Deadline converts.
type ConversionWindow struct {
	CampaignID   string    `json:"campaign_id"`
	ConversionID string    `json:"conversion_id"`
	Opened       time.Time `json:"opened"`
	Deadline     time.Time `json:"deadline"`
	// Control marks a window the user's entry into the campaign's
	// control group opened (a control_group_enrolled event), not a
	// receipt: its conversion is that of a user sent nothing. A window
	// stored before the field existed reads back without it, as a
	// receipt's.
	Control bool `json:"control,omitempty"`
}

// Conversion is the former name of [ConversionWindow].
//
// Deprecated: use ConversionWindow.
type Conversion = ConversionWindow

// Find returns the index of the pending delivery with ID id, or -1.
func (u *UserState) Find(id string) int {
	for i, p := range u.Pending {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// RemovePending removes the pending delivery at index i, keeping order.
func (u *UserState) RemovePending(i int) {
	last := len(u.Pending) - 1
	if i < last {
		copy(u.Pending[i:], u.Pending[i+1:])
	}
	u.Pending[last] = nil // the array must not keep it alive
	u.Pending = u.Pending[:last]
}

// RemovePendingFunc removes, in one pass, the pending deliveries for which
// drop returns true, keeps the order of the others and returns how many it
// removed. drop is called once for each delivery, in order, so it may
// record what it removes; removing k of n deliveries costs O(n), where k
// calls of [UserState.RemovePending] cost O(k·n).
func (u *UserState) RemovePendingFunc(drop func(p *Pending) bool) int {
	n := len(u.Pending)
	i := 0
	for i < n && !drop(u.Pending[i]) { // nothing is written until the first removal
		i++
	}
	if i == n {
		return 0
	}
	kept := u.Pending[:i]
	for _, p := range u.Pending[i+1:] {
		if !drop(p) {
			kept = append(kept, p)
		}
	}
	clear(u.Pending[len(kept):n]) // the array must not keep them alive
	u.Pending = kept
	return n - len(kept)
}

// Receipt returns the receipt for campaignID and true, or the zero
// Receipt and false when u holds none.
func (u *UserState) Receipt(campaignID string) (Receipt, bool) {
	for _, r := range u.Receipts {
		if r.CampaignID == campaignID {
			return r, true
		}
	}
	return Receipt{}, false
}

// SetReceipt records r, replacing the receipt of the same campaign.
func (u *UserState) SetReceipt(r Receipt) {
	for i := range u.Receipts {
		if u.Receipts[i].CampaignID == r.CampaignID {
			u.Receipts[i] = r
			return
		}
	}
	u.Receipts = append(u.Receipts, r)
}

// Prune removes receipts, sends and conversion windows expired at now and
// log entries before logBefore, and returns how many it removed.
func (u *UserState) Prune(now, logBefore time.Time) int {
	n := len(u.Receipts) + len(u.Sends) + len(u.Conversions) + len(u.Log)
	u.Receipts = slices.DeleteFunc(u.Receipts, func(r Receipt) bool {
		return !r.Expires.IsZero() && !r.Expires.After(now)
	})
	u.Sends = slices.DeleteFunc(u.Sends, func(s Send) bool { return !s.Expires.After(now) })
	u.Conversions = slices.DeleteFunc(u.Conversions, func(c ConversionWindow) bool { return !c.Deadline.After(now) })
	if i := slices.IndexFunc(u.Log, func(d rule.Decision) bool { return !d.At.Before(logBefore) }); i != 0 {
		if i < 0 {
			i = len(u.Log)
		}
		u.Log = slices.Delete(u.Log, 0, i)
	}
	return n - len(u.Receipts) - len(u.Sends) - len(u.Conversions) - len(u.Log)
}

// IsEmpty reports whether u holds nothing.
func (u *UserState) IsEmpty() bool {
	return len(u.Pending) == 0 && len(u.Receipts) == 0 && len(u.Sends) == 0 &&
		len(u.Conversions) == 0 && len(u.Log) == 0
}

// Clone returns a deep copy of u (event properties are shared: the engine
// never changes them).
func (u *UserState) Clone() UserState {
	out := UserState{
		Receipts:    slices.Clone(u.Receipts),
		Sends:       slices.Clone(u.Sends),
		Conversions: slices.Clone(u.Conversions),
		Log:         slices.Clone(u.Log),
	}
	if u.Pending != nil {
		out.Pending = make([]*Pending, len(u.Pending))
		for i, p := range u.Pending {
			c := *p
			out.Pending[i] = &c
		}
	}
	return out
}
