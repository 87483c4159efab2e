package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// The store keeps a pending delivery's fields that are not columns, and a
// user's state but the pending deliveries, in bytea columns, in the binary
// encoding this file defines: reading and writing them is a walk over the
// bytes, with no reflection and few allocations.
//
// Each document starts with its format version (formatVersion). Integers
// are varints (zig-zag for signed ones), strings and lists are preceded by
// their length, booleans of a record share one flags byte. A time is one
// byte telling its form — zero, UTC, or with a zone offset (then the
// offset in seconds follows) — then the seconds since 1970 and the
// nanoseconds: the instant, the offset and the nanoseconds come back
// exactly (a zone's name does not: a time read back is in UTC or in a
// fixed zone, as a time read from JSON is).
//
// Event properties keep what JSON keeps: numbers come back as
// [json.Number] with the text encoding/json writes for them, lists as
// []any, objects as map[string]any; a value of another type is kept as
// its JSON and read back as encoding/json reads it (with UseNumber).
const formatVersion = 1

// errCorrupt reports a document the decoder cannot read: cut short, or
// of an unknown version or form.
var errCorrupt = errors.New("postgres: corrupt document")

// Flags of a pending delivery's body.
const (
	flagSending = 1 << iota
	flagCancelOnFailure
	flagBackfilled
	flagControl
	flagForeignUser // the trigger's user is not the row's: its ID follows

	knownPendingFlags = flagForeignUser<<1 - 1
)

// A pending delivery's body ends, after the trigger, with the fields added
// since the format began, each as its tag, its length and its bytes, and
// only when it differs from its zero value, in increasing order of tags
// (from 1). A decoder skips the tags it does not know: a later version
// can add a field without its bodies becoming unreadable to processes of
// this one during a rolling upgrade (their rewrites of a row drop the
// field they do not know, so a field added this way must be one whose
// loss does no harm, as a count of errors that paces retries). A boolean
// goes there too: the flags byte admits no new flag, and a body with a
// flag it does not know is refused.
const (
	tailDirectoryErrors = 1 // Pending.DirectoryErrors, a varint
)

// A user's state ends, after the log, with the fields added since the
// format began, as a pending delivery's body does: each as its tag, its
// length and its bytes, only when it differs from its zero value, in
// increasing order of tags (from 1), a decoder skipping the tags it does
// not know. A state written before a field existed has none of it, and
// reads back with its zero value. (Processes of versions before the tail
// existed refuse a state with one: it is written only for users with a
// window of the control group, whose rows such a process cannot read
// during a rolling upgrade.)
const (
	// The indexes in UserState.Conversions of the windows with Control
	// set, each a uvarint, increasing.
	tailControlWindows = 1
)

// Forms of a time.
const (
	timeZero = iota
	timeUTC
	timeZoned
)

// Tags of a property value.
const (
	valNil = iota
	valFalse
	valTrue
	valString
	valNumber // its JSON text
	valList
	valObject
	valJSON // another type, as JSON
)

// appendPending appends the body of p's row: everything but ID,
// CampaignID, ReadyAt and Token, which are columns, and the trigger's user
// when it is the row's userID.
func appendPending(b []byte, userID string, p *store.Pending) ([]byte, error) {
	var flags byte
	for i, f := range [...]bool{p.Sending, p.CancelOnFailure, p.Backfilled, p.Control, p.Trigger.UserID != userID} {
		if f {
			flags |= 1 << i
		}
	}
	b = append(b, formatVersion, flags)
	b = appendVarint(b, p.Activation)
	b = appendTime(b, p.DueAt)
	b = appendVarint(b, int64(p.Attempt))
	if flags&flagForeignUser != 0 {
		b = appendString(b, p.Trigger.UserID)
	}
	b, err := appendEvent(b, &p.Trigger)
	if err == nil && p.DirectoryErrors != 0 {
		var v [binary.MaxVarintLen64]byte
		n := binary.PutVarint(v[:], int64(p.DirectoryErrors))
		b = binary.AppendUvarint(b, tailDirectoryErrors)
		b = binary.AppendUvarint(b, uint64(n))
		b = append(b, v[:n]...)
	}
	return b, err
}

// decodePending fills p from the body of a row of userID; p's ID,
// CampaignID, ReadyAt and Token come from the columns.
func decodePending(p *store.Pending, userID string, body []byte) error {
	r := reader{b: body}
	if r.byte() != formatVersion {
		return fmt.Errorf("decoding pending delivery %q: %w", p.ID, errCorrupt)
	}
	flags := r.byte()
	if flags&^knownPendingFlags != 0 {
		return fmt.Errorf("decoding pending delivery %q: flags %#x: %w", p.ID, flags, errCorrupt)
	}
	p.Sending, p.CancelOnFailure = flags&flagSending != 0, flags&flagCancelOnFailure != 0
	p.Backfilled, p.Control = flags&flagBackfilled != 0, flags&flagControl != 0
	p.Activation = r.varint()
	p.DueAt = r.time()
	p.Attempt = int(r.varint())
	user := userID
	if flags&flagForeignUser != 0 {
		user = r.string()
	}
	r.event(&p.Trigger, user)
	p.DirectoryErrors = 0
	r.tail(func(tag uint64, field *reader) bool {
		if tag != tailDirectoryErrors {
			return false
		}
		n := field.varint()
		if n == 0 || int64(int(n)) != n { // 0 is never written
			field.fail()
		}
		p.DirectoryErrors = int(n)
		return true
	})
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("decoding pending delivery %q: %w", p.ID, cmpErr(r.err))
	}
	return nil
}

func appendEvent(b []byte, ev *event.Event) ([]byte, error) {
	b = appendString(b, ev.ID)
	b = appendString(b, string(ev.Kind))
	b = appendString(b, ev.CampaignID)
	b = appendString(b, ev.Target)
	b = appendString(b, ev.Name)
	b = appendTime(b, ev.Time)
	b = binary.AppendUvarint(b, uint64(len(ev.Properties)))
	return appendEntries(b, ev.Properties, 0)
}

func (r *reader) event(ev *event.Event, userID string) {
	ev.ID = r.string()
	ev.UserID = userID
	ev.Kind = r.kind()
	ev.CampaignID = r.string()
	ev.Target = r.string()
	ev.Name = r.string()
	ev.Time = r.time()
	ev.Properties = nil
	if n := r.count(); n > 0 {
		ev.Properties = r.entries(n, 0)
	}
}

// appendState appends the body of a user's row: what u holds but its
// pending deliveries.
func appendState(b []byte, u *store.UserState) []byte {
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(u.Receipts)))
	for i := range u.Receipts {
		x := &u.Receipts[i]
		b = appendString(b, x.CampaignID)
		b = appendTime(b, x.At)
		b = appendTime(b, x.Expires)
	}
	b = binary.AppendUvarint(b, uint64(len(u.Sends)))
	for i := range u.Sends {
		x := &u.Sends[i]
		b = appendString(b, x.CampaignID)
		b = appendString(b, string(x.Channel))
		b = appendTime(b, x.At)
		b = appendTime(b, x.Expires)
	}
	b = binary.AppendUvarint(b, uint64(len(u.Conversions)))
	for i := range u.Conversions {
		x := &u.Conversions[i]
		b = appendString(b, x.CampaignID)
		b = appendString(b, x.ConversionID)
		b = appendTime(b, x.Opened)
		b = appendTime(b, x.Deadline)
	}
	b = binary.AppendUvarint(b, uint64(len(u.Log)))
	for i := range u.Log {
		b = appendDecision(b, &u.Log[i])
	}
	var control []byte
	for i := range u.Conversions {
		if u.Conversions[i].Control {
			control = binary.AppendUvarint(control, uint64(i))
		}
	}
	if len(control) > 0 {
		b = binary.AppendUvarint(b, tailControlWindows)
		b = binary.AppendUvarint(b, uint64(len(control)))
		b = append(b, control...)
	}
	return b
}

// decodeState sets u's receipts, sends, conversion windows and log from
// the body of its row.
func decodeState(u *store.UserState, body []byte) error {
	r := reader{b: body}
	if r.byte() != formatVersion {
		return errCorrupt
	}
	u.Receipts = nil
	if n := r.count(); n > 0 {
		u.Receipts = make([]store.Receipt, n)
		for i := range u.Receipts {
			x := &u.Receipts[i]
			x.CampaignID, x.At, x.Expires = r.string(), r.time(), r.time()
		}
	}
	u.Sends = nil
	if n := r.count(); n > 0 {
		u.Sends = make([]store.Send, n)
		for i := range u.Sends {
			x := &u.Sends[i]
			x.CampaignID, x.Channel, x.At, x.Expires = r.string(), event.Channel(r.known()), r.time(), r.time()
		}
	}
	u.Conversions = nil
	if n := r.count(); n > 0 {
		u.Conversions = make([]store.ConversionWindow, n)
		for i := range u.Conversions {
			x := &u.Conversions[i]
			x.CampaignID, x.ConversionID, x.Opened, x.Deadline = r.string(), r.string(), r.time(), r.time()
		}
	}
	u.Log = nil
	if n := r.count(); n > 0 {
		u.Log = make([]rule.Decision, n)
		for i := range u.Log {
			r.decision(&u.Log[i])
		}
	}
	r.tail(func(tag uint64, field *reader) bool {
		if tag != tailControlWindows {
			return false
		}
		field.controlWindows(u.Conversions)
		return true
	})
	if r.err != nil || len(r.b) != 0 {
		return cmpErr(r.err)
	}
	return nil
}

// tail reads the tagged fields that end a document, in increasing order
// of tags: read hands each to a function that reads the field's bytes
// when it knows its tag and reports whether it did; a field of a tag it
// does not know (a later version's) is skipped. A tag out of order, or a
// field read with an error or not to its end, fails r.
func (r *reader) tail(read func(tag uint64, field *reader) bool) {
	for last := uint64(0); len(r.b) > 0 && r.err == nil; {
		tag := r.uvarint()
		field := reader{b: r.bytes()}
		if tag <= last {
			r.fail()
			return
		}
		last = tag
		if read(tag, &field) && (field.err != nil || len(field.b) != 0) {
			r.fail()
		}
	}
}

// controlWindows sets Control on the windows of ws the field lists: at
// least one, each an index of ws, in increasing order.
func (r *reader) controlWindows(ws []store.ConversionWindow) {
	next := uint64(0)
	for first := true; first || len(r.b) > 0; first = false {
		i := r.uvarint()
		if r.err != nil || i < next || i >= uint64(len(ws)) {
			r.fail()
			return
		}
		ws[i].Control, next = true, i+1
	}
}

func appendDecision(b []byte, d *rule.Decision) []byte {
	b = appendString(b, string(d.Kind))
	b = appendString(b, string(d.Reason))
	b = appendString(b, d.CampaignID)
	b = appendString(b, d.UserID)
	b = appendString(b, d.EventID)
	b = appendString(b, string(d.EventKind))
	b = appendTime(b, d.EventTime)
	b = appendString(b, d.DeliveryID)
	b = appendTime(b, d.DueAt)
	b = appendVarint(b, int64(d.Attempt))
	b = appendString(b, d.Rule)
	b = appendString(b, d.Detail)
	var flags byte
	if d.Backfilled {
		flags = 1
	}
	b = append(b, flags)
	b = appendTime(b, d.At)
	return appendString(b, d.Namespace)
}

func (r *reader) decision(d *rule.Decision) {
	d.Kind = rule.DecisionKind(r.known())
	d.Reason = rule.Reason(r.known())
	d.CampaignID = r.string()
	d.UserID = r.string()
	d.EventID = r.string()
	d.EventKind = r.kind()
	d.EventTime = r.time()
	d.DeliveryID = r.string()
	d.DueAt = r.time()
	d.Attempt = int(r.varint())
	d.Rule = r.string()
	d.Detail = r.string()
	d.Backfilled = r.byte()&1 != 0
	d.At = r.time()
	d.Namespace = r.string()
}

// cmpErr is err, or errCorrupt when the reader stopped without one
// (bytes were left over).
func cmpErr(err error) error {
	if err == nil {
		return errCorrupt
	}
	return err
}
