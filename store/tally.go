package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// ErrInvalidTally reports a tally [Tallier.AddTallies] cannot store: its
// hour is not the start of an hour, its count is negative, its kind is
// empty, or a text field is not text every store keeps
// ([event.CheckText]). It comes wrapped in a [*rule.ValidationError]
// that names the tally and the field.
var ErrInvalidTally = errors.New("store: invalid tally")

// ErrInvalidQuery reports a [TallyQuery] or [PendingQuery] out of range.
var ErrInvalidQuery = errors.New("store: invalid query")

// Tally counts decisions of one kind and reason about one campaign in one
// hour.
type Tally struct {
	Hour       time.Time         // start of the hour, UTC
	CampaignID string            // the follow-up concerned ("" for decisions about no campaign)
	Kind       rule.DecisionKind // scheduled, suppressed, cancelled, delivered, failed, held_out, converted…
	Reason     rule.Reason       // "" when the decision has none
	Rule       string            // for cancelled: the exception that matched (its String form); for suppressed: RuleWhenDue or ""; else ""
	Count      int64
}

// RuleWhenDue is the Rule of the tallies of deliveries suppressed when
// they came due: by a check at send time (an audience re-check, a send
// window or quiet hours without deferral, a frequency cap, a deferral past
// the maximum), after they were counted as scheduled. The tallies of
// triggers suppressed on arrival, which scheduled nothing, have no Rule.
// A reason such as not_in_audience or outside_send_window occurs at both
// points: the Rule tells them apart.
const RuleWhenDue = "when_due"

// TallyKey is what identifies a stored count: a [Tally] without its Count,
// its Hour in Unix seconds. Stores may key their tables with it.
type TallyKey struct {
	Hour       int64
	CampaignID string
	Kind       rule.DecisionKind
	Reason     rule.Reason
	Rule       string
}

// Key returns t's key.
func (t *Tally) Key() TallyKey {
	return TallyKey{Hour: t.Hour.Unix(), CampaignID: t.CampaignID, Kind: t.Kind, Reason: t.Reason, Rule: t.Rule}
}

// Tally returns the tally of key k with count n.
func (k TallyKey) Tally(n int64) Tally {
	return Tally{Hour: time.Unix(k.Hour, 0).UTC(), CampaignID: k.CampaignID, Kind: k.Kind, Reason: k.Reason, Rule: k.Rule, Count: n}
}

// Compare orders keys by Hour, then CampaignID, Kind, Reason and Rule
// (byte-wise): the order [Tallier.Tallies] returns them in.
func (k TallyKey) Compare(o TallyKey) int {
	switch {
	case k.Hour != o.Hour:
		if k.Hour < o.Hour {
			return -1
		}
		return 1
	case k.CampaignID != o.CampaignID:
		return compareStrings(k.CampaignID, o.CampaignID)
	case k.Kind != o.Kind:
		return compareStrings(string(k.Kind), string(o.Kind))
	case k.Reason != o.Reason:
		return compareStrings(string(k.Reason), string(o.Reason))
	}
	return compareStrings(k.Rule, o.Rule)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ValidateTallies reports the tallies [Tallier.AddTallies] must refuse,
// each as a [*rule.ValidationError] wrapping [ErrInvalidTally], joined.
func ValidateTallies(tallies []Tally) error {
	var errs []error
	bad := func(i int, field, reason string) {
		errs = append(errs, &rule.ValidationError{Object: "tally", Field: fmt.Sprintf("tallies[%d].%s", i, field), Reason: reason, Err: ErrInvalidTally})
	}
	for i := range tallies {
		t := &tallies[i]
		if !t.Hour.Equal(t.Hour.Truncate(time.Hour)) {
			bad(i, "hour", t.Hour.UTC().Format(time.RFC3339Nano)+" is not the start of an hour")
		}
		if t.Count < 0 {
			bad(i, "count", fmt.Sprintf("%d is negative", t.Count))
		}
		if t.Kind == "" {
			bad(i, "kind", "required")
		}
		for _, f := range [...]struct{ name, text string }{
			{"campaign_id", t.CampaignID}, {"kind", string(t.Kind)}, {"reason", string(t.Reason)}, {"rule", t.Rule},
		} {
			if err := event.CheckText(f.text); err != nil {
				bad(i, f.name, err.Error())
			}
		}
	}
	return errors.Join(errs...)
}

// TallyQuery selects tallies: hours in [Since, Until) (a zero Until means
// no upper bound), one campaign (CampaignID), some (CampaignIDs) or all
// (neither set), and some decision kinds (Kinds) or all. An hour is
// selected by its start.
type TallyQuery struct {
	Since, Until time.Time
	CampaignID   string
	// CampaignIDs, when not empty, selects the tallies of these campaigns
	// only, in any order (repeats select nothing more; "" selects the
	// decisions about no campaign). A query with both CampaignID and
	// CampaignIDs is invalid. A store written before this field ignores
	// it and returns the tallies of every campaign: a caller that must
	// not see the others filters them too.
	CampaignIDs []string
	// Kinds, when not empty, selects the tallies of these decision kinds
	// only, in any order (repeats select nothing more), with CampaignID
	// or CampaignIDs or without. A kind the rule package does not name is
	// valid and selects the tallies stored under it, if any: a store
	// keeps whatever kind its engines count (an engine of a later version
	// may count a kind this one does not know). An empty kind is invalid:
	// no tally has one. A store written before this field ignores it and
	// returns the tallies of every kind: a caller that must not see the
	// others filters them too.
	Kinds []rule.DecisionKind
}

// Validate reports a query that selects nothing by construction (Until
// set and not after Since), ambiguously (both CampaignID and CampaignIDs
// set), by a campaign ID or a kind that is not text every store keeps
// ([event.CheckText]: no tally can have it, and stores would read it
// differently), or by an empty kind, as an error wrapping
// [ErrInvalidQuery]; all but the first are a [*rule.ValidationError]
// naming the field.
func (q *TallyQuery) Validate() error {
	if !q.Until.IsZero() && !q.Until.After(q.Since) {
		return fmt.Errorf("%w: tallies until %s, not after since %s", ErrInvalidQuery,
			q.Until.UTC().Format(time.RFC3339), q.Since.UTC().Format(time.RFC3339))
	}
	if q.CampaignID != "" && len(q.CampaignIDs) > 0 {
		return &rule.ValidationError{Object: "tally query", Field: "campaign_ids",
			Reason: fmt.Sprintf("set with campaign_id %q: set one or the other", q.CampaignID), Err: ErrInvalidQuery}
	}
	if err := event.CheckText(q.CampaignID); err != nil {
		return &rule.ValidationError{Object: "tally query", Field: "campaign_id", Reason: err.Error(), Err: ErrInvalidQuery}
	}
	for i, id := range q.CampaignIDs {
		if err := event.CheckText(id); err != nil {
			return &rule.ValidationError{Object: "tally query", Field: fmt.Sprintf("campaign_ids[%d]", i), Reason: err.Error(), Err: ErrInvalidQuery}
		}
	}
	for i, k := range q.Kinds {
		reason := "required"
		if k != "" {
			err := event.CheckText(string(k))
			if err == nil {
				continue
			}
			reason = err.Error()
		}
		return &rule.ValidationError{Object: "tally query", Field: fmt.Sprintf("kinds[%d]", i), Reason: reason, Err: ErrInvalidQuery}
	}
	return nil
}

// Matches reports whether q selects the tally of key k. It looks through
// CampaignIDs for each key: a store matching many keys against a long
// list does better with a set of its own.
func (q *TallyQuery) Matches(k *TallyKey) bool {
	if !q.matchesHour(k) || !q.matchesKind(k) {
		return false
	}
	if len(q.CampaignIDs) > 0 {
		return slices.Contains(q.CampaignIDs, k.CampaignID)
	}
	return q.CampaignID == "" || q.CampaignID == k.CampaignID
}

// matchesHour reports whether the hour of k is in q's range.
func (q *TallyQuery) matchesHour(k *TallyKey) bool {
	return k.Hour >= ceilUnix(q.Since) && (q.Until.IsZero() || k.Hour < ceilUnix(q.Until))
}

// matchesKind reports whether q selects the kind of k, looking through
// the kinds: a query names a few (the memory store makes a set of a long
// list).
func (q *TallyQuery) matchesKind(k *TallyKey) bool {
	return len(q.Kinds) == 0 || slices.Contains(q.Kinds, k.Kind)
}

// ceilUnix is t in Unix seconds, rounded up: an hour starting at Unix
// second h is at or after t exactly when h >= ceilUnix(t).
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Tallier is implemented by stores that keep per-campaign, per-hour
// decision tallies shared by every engine of a namespace (memory,
// PostgreSQL, SQLite). Engines add their counts in batches; hosts (the
// dashboard) read them through the engine (connector's Engine.Tallies).
// Every implementation must pass the tallies part of store/storetest,
// which its Run runs when the store implements Tallier.
//
// Errors: as [Store]'s.
type Tallier interface {
	// AddTallies adds each tally's Count to the stored count of its (Hour,
	// CampaignID, Kind, Reason, Rule), creating it at zero when missing,
	// atomically: on error nothing is added. Tallies of the same key in
	// one call add up. A tally that [ValidateTallies] refuses fails the
	// whole call with its error.
	AddTallies(ctx context.Context, ns string, tallies []Tally) error
	// Tallies returns the stored counts matching q, one per (Hour,
	// CampaignID, Kind, Reason, Rule), ordered by Hour then CampaignID,
	// Kind, Reason, Rule (byte-wise, [TallyKey.Compare]), Hours in UTC. An
	// invalid q ([TallyQuery.Validate]) is an error wrapping
	// [ErrInvalidQuery].
	Tallies(ctx context.Context, ns string, q TallyQuery) ([]Tally, error)
	// PruneTallies removes the counts of the hours that start before
	// before and returns how many it removed. The engine calls it with its
	// prune, keeping its tally retention.
	PruneTallies(ctx context.Context, ns string, before time.Time) (int, error)
}

// OnceTallier is a [Tallier] that adds each batch of tallies at most once.
// A store whose AddTallies can add the tallies and still return an error
// implements it: a networked store, whose reply can be lost after its
// commit. The engine, which sends such a batch again, would otherwise
// count it twice; it calls AddTalliesOnce instead of AddTallies when the
// store has it. A store in the host's process (memory, SQLite) need not.
// A wrapper of such a store that overrides AddTallies (to measure or to
// inject faults) overrides AddTalliesOnce as well: the engine calls it
// instead.
//
// The Run of store/storetest checks it when the store implements it.
type OnceTallier interface {
	Tallier
	// AddTalliesOnce adds tallies as AddTallies does, unless the store
	// holds a number of writer in ns at or above seq: it then adds nothing
	// and returns nil. Otherwise it records seq as writer's number, and
	// the highest Hour among the tallies as writer's latest hour unless
	// the one it holds is later, atomically with the counts: both or
	// neither. A call with nothing to add (no tallies, or only zero
	// counts) adds and records nothing. [Tallier.PruneTallies](ns, before)
	// forgets writer, with its tallies, exactly when writer's latest hour
	// starts before before: a batch of writer sent after that is added.
	//
	// A writer (an engine, for as long as it runs) numbers its batches
	// from 1 up and sends a batch that failed again, under its number,
	// before its next one, so that a batch the store added although the
	// call failed (its reply lost) is added once. It sends it with its
	// tallies or fewer: the engine leaves out the hours past its tally
	// retention, and after the store refused the batch as invalid, the
	// tallies [ValidateTallies] refuses. Numbers can have gaps: a batch
	// left with no tally is not sent.
	//
	// A writer that is empty, not text ([event.CheckText]) or over
	// [TallyWriterMax] bytes, or a seq below 1, fails the call with an
	// error wrapping [ErrInvalidTally] ([ValidateTallyBatch]), as a tally
	// that [ValidateTallies] refuses does; nothing is added or recorded.
	AddTalliesOnce(ctx context.Context, ns, writer string, seq int64, tallies []Tally) error
}

// TallyWriterMax bounds the bytes of an [OnceTallier]'s writer, so that
// every store can index it.
const TallyWriterMax = 256

// ValidateTallyBatch reports what [OnceTallier.AddTalliesOnce] must refuse
// in its writer, its seq and its tallies, each as a [*rule.ValidationError]
// wrapping [ErrInvalidTally], joined.
func ValidateTallyBatch(writer string, seq int64, tallies []Tally) error {
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &rule.ValidationError{Object: "tally batch", Field: field, Reason: reason, Err: ErrInvalidTally})
	}
	if writer == "" {
		bad("writer", "required")
	} else if err := event.CheckText(writer); err != nil {
		bad("writer", err.Error())
	} else if len(writer) > TallyWriterMax {
		bad("writer", fmt.Sprintf("%d bytes, over %d", len(writer), TallyWriterMax))
	}
	if seq < 1 {
		bad("seq", fmt.Sprintf("%d is below 1", seq))
	}
	return errors.Join(append(errs, ValidateTallies(tallies))...)
}
