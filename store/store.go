// Package store defines where the engine keeps its state, the [Store]
// interface, and [Memory], its in-memory implementation.
//
// A Store is implemented by storage back ends (this package's Memory, the
// nested modules store/sqlite and store/postgres) and called by the engine
// only; hosts pick one and hand it to connector.New. Every implementation must pass the
// conformance suite in store/storetest.
//
// The contract is shaped so that a SQL database implements it with one
// short transaction per call, and so that several engines can share one
// store: per-user state changes atomically under a per-user lock
// ([Store.Update]), due deliveries are handed out with leases
// ([Store.Claim]) so two engines never send the same one while its lease is
// live, and campaign changes bump a revision that engines poll cheaply.
// Nothing in a Store reads a clock: callers pass now.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// ErrNotFound reports a campaign or user the store does not have.
var ErrNotFound = errors.New("store: not found")

// ErrClosed reports a call on a closed store.
var ErrClosed = errors.New("store: closed")

// Store holds campaigns, per-user state and the queue of due deliveries, for
// any number of namespaces (engines with different namespaces share nothing).
// Implementations must be safe for concurrent use by several engines.
//
// Errors: methods return ctx's error if it ends, [ErrNotFound] where
// documented, and otherwise the back end's errors wrapped with %w; a failed
// call changes nothing.
type Store interface {
	// Campaigns returns every campaign record of namespace ns, in no
	// particular order, with the namespace's revision at the time of reading.
	Campaigns(ctx context.Context, ns string) (revision int64, campaigns []CampaignRecord, err error)

	// Revision returns the namespace's campaign revision: it increases with
	// every successful UpdateCampaign and never decreases. Engines call it
	// often to notice changes made by other engines, so it must be cheap
	// (implementations may serve a value at most a second old).
	Revision(ctx context.Context, ns string) (int64, error)

	// UpdateCampaign atomically reads campaign id (exists is false and rec
	// zero when it has none), calls fn, and, if fn returns nil, stores *rec,
	// bumps the namespace revision, sets rec.Revision to it and returns the
	// stored record. If fn returns an error, nothing changes and the error is
	// returned as is. fn must not call the store.
	UpdateCampaign(ctx context.Context, ns, id string, fn func(rec *CampaignRecord, exists bool) error) (CampaignRecord, error)

	// CancelCampaign removes the pending deliveries of campaign campaignID
	// in ns, whoever holds their lease, and returns what it removed: those
	// of every activation up to the one [CancelThrough] gives for the
	// campaign's stored record. The engine calls it after a stop; when the
	// campaign was resumed meanwhile (by another engine or an operator),
	// the deliveries of the new activation stay. A delivery the store
	// cannot decode (a newer version's) may be left for a version that
	// can: the engine never sends a delivery of a campaign stopped after it
	// was scheduled.
	CancelCampaign(ctx context.Context, ns, campaignID string) ([]Claim, error)

	// Update runs fn on the state of one user, atomically with respect to
	// every other Update, Claim and CancelCampaign touching that user, and
	// stores what fn left in *u. If dedup.EventID is set, the store first
	// checks whether it remembers that ID for this user (and not past its
	// KeepUntil at now): duplicate tells fn; if not, the ID is remembered
	// until dedup.KeepUntil. fn must be deterministic and must not call the
	// store or block: a SQL store may run it again after a serialization
	// failure. Changes fn makes to pending deliveries are reflected in the
	// due queue.
	Update(ctx context.Context, ns, userID string, now time.Time, dedup Dedup, fn func(u *UserState, duplicate bool)) error

	// User returns a copy of one user's state, or [ErrNotFound] when the
	// store holds nothing for that user.
	User(ctx context.Context, ns, userID string) (UserState, error)

	// NextDue returns the earliest ReadyAt among ns's pending deliveries,
	// or ok false when there is none.
	NextDue(ctx context.Context, ns string) (at time.Time, ok bool, err error)

	// Claim hands out up to limit pending deliveries whose ReadyAt is at or
	// before now, roughly earliest first. Each is leased: its Token is set
	// to token and its ReadyAt to now+lease, so that no other Claim returns
	// it before the lease ends; if the claimer never completes it (the
	// process died), it is claimable again then, with the same ID. Claim
	// returns copies.
	Claim(ctx context.Context, ns string, now time.Time, lease time.Duration, limit int, token uint64) ([]Claim, error)

	// Take atomically adds one to the counter key of ns and reports true,
	// unless the counter already reached limit (then it reports false and
	// changes nothing). A counter is created at zero, counts as zero again
	// once expires is not after now, and is forgotten by Prune after that.
	// The engine uses counters for rate limits shared by all the engines of
	// a namespace.
	Take(ctx context.Context, ns, key string, limit int64, now, expires time.Time) (bool, error)

	// AppendInteractions adds events to the namespace's interaction log,
	// kept until keepUntil (the engine keeps one only when backfill is
	// enabled).
	AppendInteractions(ctx context.Context, ns string, events []event.Event, keepUntil time.Time) error

	// Interactions calls fn with the logged events that match q, in
	// ascending Time order (ties in append order), until fn returns false.
	Interactions(ctx context.Context, ns string, q InteractionQuery, fn func(event.Event) bool) error

	// Stats counts what the namespace holds, for metrics and tests.
	Stats(ctx context.Context, ns string) (Stats, error)

	// Prune forgets what has expired at now: remembered event IDs past their
	// KeepUntil, receipts, sends and conversion windows past their expiry,
	// decision log entries older than logBefore, counters and logged
	// interactions past their expiry; users left with no state are removed.
	// It returns how many items it removed.
	Prune(ctx context.Context, ns string, now, logBefore time.Time) (int, error)
}

// CancelThrough returns the highest activation whose pending deliveries
// [Store.CancelCampaign] removes, given the campaign's stored record (and
// whether there is one): the record's activation, the one a stop ended;
// the one before it when the campaign is active again, so that a resume
// that overtook the stop keeps the deliveries it scheduled; and every
// activation when there is no record, or it was never activated. A
// delivery of a later activation than the record read is always kept: it
// comes from a resume the read did not see.
func CancelThrough(rec CampaignRecord, exists bool) int64 {
	switch {
	case !exists || rec.Activation <= 0:
		return math.MaxInt64
	case rec.State == rule.Active:
		return rec.Activation - 1
	default:
		return rec.Activation
	}
}

// InteractionQuery selects logged interactions: Time in [Since, Until)
// (a zero Until means no upper bound), and, when Keys is not empty, Kind
// and CampaignID equal to one of the keys.
type InteractionQuery struct {
	Since, Until time.Time
	Keys         []InteractionKey
}

// InteractionKey selects events by kind and campaign ("" for non-campaign
// events).
type InteractionKey struct {
	Kind       event.Kind
	CampaignID string
}

// Matches reports whether ev is selected by q.
func (q *InteractionQuery) Matches(ev *event.Event) bool {
	if ev.Time.Before(q.Since) || (!q.Until.IsZero() && !ev.Time.Before(q.Until)) {
		return false
	}
	if len(q.Keys) == 0 {
		return true
	}
	for _, k := range q.Keys {
		if k.Kind == ev.Kind && k.CampaignID == ev.CampaignID {
			return true
		}
	}
	return false
}

// Stats counts what a namespace holds.
type Stats struct {
	Campaigns    int64 // campaign records, whatever their state
	Users        int64 // users with some state
	Pending      int64 // pending deliveries, claimed or not
	Interactions int64 // events in the interaction log
	// Events is what one engine did with the events handed to it. A Store
	// leaves it zero; the engine's Stats fills it from counters of its own
	// process, since the engine was built (engines sharing a store each
	// count their own).
	Events EventCounts
}

// EventCounts counts events by what an engine did with them.
type EventCounts struct {
	// Tracked counts the events Track and TrackAll took: valid, and
	// stored when there was something to store (an event refused, or
	// whose store write failed, is not counted).
	Tracked int64
	// Unheard counts the tracked events that no active follow-up could
	// use: no decision, and no store write but the interaction log's and,
	// when the engine remembers every ID (connector.WithDedupAll), their
	// ID's. Events naming an unknown campaign are counted in Ignored
	// instead.
	Unheard int64
	// Duplicates counts the tracked events whose ID was already processed
	// for their user; with connector.WithDedupAll, those no follow-up could
	// use too (also counted in Unheard or, naming an unknown campaign, in
	// Ignored).
	Duplicates int64
	// Ignored counts ignored decisions by reason (one event can be
	// ignored by several pending deliveries); nil when there is none.
	Ignored map[rule.Reason]int64
}

// Dedup asks [Store.Update] to deduplicate by event ID.
type Dedup struct {
	EventID   string    // "" disables deduplication
	KeepUntil time.Time // remember the ID until then (the engine's dedup window)
}

// CampaignRecord is a campaign definition with its lifecycle, as stored.
type CampaignRecord struct {
	Campaign rule.Campaign
	State    rule.State
	// ActivatedAt is the current activation time: set by each publish or
	// resume to the engine clock's now. Follow-ups only count interactions
	// at or after it.
	ActivatedAt time.Time
	// Activation counts activations: 1 after the first publish, 2 after a
	// stop and resume… Pending deliveries remember it, so a delivery from an
	// earlier activation is never sent (stopping a follow-up cancels its
	// pending deliveries, and resuming it does not bring them back).
	Activation int64
	// CreatedAt and UpdatedAt are engine clock times.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Revision is the namespace revision at which this record last changed.
	Revision int64
}

// Claim is a pending delivery handed out by [Store.Claim] or removed by
// [Store.CancelCampaign], with the user it belongs to.
type Claim struct {
	UserID  string
	Pending Pending
}

// ValidateNamespace reports whether ns can name a namespace: at most 128
// bytes of text every store keeps ([event.CheckText]: valid UTF-8 without
// NUL bytes). The empty namespace is the default.
func ValidateNamespace(ns string) error {
	if len(ns) > 128 {
		return errors.New("store: namespace longer than 128 bytes")
	}
	if err := event.CheckText(ns); err != nil {
		return fmt.Errorf("store: namespace %w", err)
	}
	return nil
}

// Notifier is implemented by stores that can tell engines, across
// processes, that a delivery was scheduled or became ready earlier than
// before, so Run need not poll. The returned channel receives a value (it
// is never closed) after such a change; stop releases it. A Run whose
// channel closes stops listening to it, logs so at Error, and polls the
// store every second instead (or at the poll interval the engine was
// given).
type Notifier interface {
	Notify(ns string) (ch <-chan struct{}, stop func())
}

// PendingCounter is implemented by stores that count a namespace's pending
// deliveries for less than [Store.Stats] costs (memory, PostgreSQL,
// SQLite): Stats also counts the namespace's campaigns, users and logged
// interactions, which on a SQL store reads every row of their tables.
// Gauges read at every metric collection use it, through connector's
// Engine.PendingCount; without it, they read Stats.
//
// The Run of store/storetest checks it when the store implements it.
type PendingCounter interface {
	// PendingCount returns how many pending deliveries namespace ns holds,
	// claimed or not: the Pending of Stats(ctx, ns).
	PendingCount(ctx context.Context, ns string) (int64, error)
}

// ServerClock is implemented by stores served by a server with a clock of
// its own (PostgreSQL). Engines on several hosts read the same server's
// clock, so how far each engine's clock is from it tells how far the
// engines' clocks are from each other: connector's Engine.ClockSkew.
// A wrapper of such a store (to measure, or to inject faults) passes
// ServerNow on, as embedding the store's pointer does; one that holds it
// as a Store hides it, and ClockSkew returns ErrNoServerClock.
type ServerClock interface {
	// ServerNow returns the server's current time.
	ServerNow(ctx context.Context) (time.Time, error)
}

// ClaimRecycler is implemented by stores that can reuse the slices Claim
// returns. The engine hands each batch back once it is done with it, so a
// store that drains a backlog does not allocate a new batch every time.
type ClaimRecycler interface {
	// RecycleClaims takes back a slice Claim returned. The caller must
	// not use the slice or its elements afterwards; values copied out of
	// it (a Delivery built from a claim, with its strings and property
	// map) stay valid.
	RecycleClaims(claims []Claim)
}

// BatchUpdater is implemented by stores that apply many updates in one call
// for less than the calls one by one would cost (one transaction, one lock
// per shard and batch), as every store of this repository does. The
// engine's TrackAll and Tick use it; without it, they call Update for each
// op.
type BatchUpdater interface {
	// UpdateBatch applies each op as Update(ctx, ns, op.UserID, op.Now,
	// op.Dedup, op.Fn) would: atomically per op, the ops of one user in
	// slice order, the ops of different users in any order. It sets each
	// op's Err (nil once applied) and returns the first error it met, or
	// nil when every op was applied. The engine takes an error returned
	// with no op's Err set as failing every op of the call.
	UpdateBatch(ctx context.Context, ns string, ops []Op) error
}

// Op is one update of a batch (see [BatchUpdater]).
type Op struct {
	UserID string
	Now    time.Time
	Dedup  Dedup
	Fn     func(u *UserState, duplicate bool)
	Err    error // set by UpdateBatch: nil once the op is applied
}
