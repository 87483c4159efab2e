package rule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
)

// DecisionKind is what the engine decided about a user and a follow-up.
type DecisionKind string

// The decision kinds.
const (
	// Scheduled: a trigger created a pending delivery.
	Scheduled DecisionKind = "scheduled"
	// Suppressed: a trigger matched but did not schedule; Reason says why.
	Suppressed DecisionKind = "suppressed"
	// Cancelled: a pending delivery was removed before it was sent; Reason
	// says why (an exception, the campaign stopped, replaced by a newer
	// trigger).
	Cancelled DecisionKind = "cancelled"
	// Duplicate: an event whose ID was already processed was ignored.
	Duplicate DecisionKind = "duplicate"
	// Ignored: the engine could not use an event that a host would expect
	// to do something; Reason says why ([ReasonUnknownCampaign],
	// [ReasonBeforeTrigger], [ReasonAfterDue]). The decision carries the
	// event's user, ID, kind and time.
	Ignored DecisionKind = "ignored"
	// Delivered: the sender accepted the delivery; the user has received it.
	Delivered DecisionKind = "delivered"
	// Retried: the sender failed; the delivery will be tried again.
	Retried DecisionKind = "retried"
	// Failed: the sender failed on the last allowed attempt; the delivery
	// is dropped and does not count as received.
	Failed DecisionKind = "failed"
	// Warned: a hazard in the campaign definitions (no user concerned);
	// Reason says which. The wire name is "warning".
	Warned DecisionKind = "warning"
	// Deferred: a due delivery was moved later (send window, quiet hours,
	// rate limit); Reason says why.
	Deferred DecisionKind = "deferred"
	// HeldOut: the user is in the follow-up's control group: nothing was
	// sent, the user counts as having received it, and the engine emitted
	// control_group_enrolled.
	HeldOut DecisionKind = "held_out"
	// Converted: the user performed a conversion event of a campaign they
	// received; the engine emitted conversion_performed (Rule names the
	// conversion). The conversion of a user held out in the campaign's
	// control group has the reason [ReasonControlGroup]: they converted
	// without the message.
	Converted DecisionKind = "converted"
	// Applied: the engine's Apply changed a campaign (no user concerned);
	// Reason says how: created, edited, published, or campaign_stopped
	// for an active campaign absent from the set, stopped on request.
	Applied DecisionKind = "applied"
)

// Warning is the former name of [Warned].
//
// Deprecated: use Warned.
const Warning = Warned

// Reason explains a suppression, cancellation, ignored event, failure or
// warning. The set is closed and documented here; hosts can switch on it.
//
// # Why did nothing happen?
//
// An event that no active follow-up's trigger, exception or conversion can
// match leaves no decision: it is the common case, and it costs no store
// write (the engine counts these events: store.EventCounts). Every other
// event that changes nothing leaves a decision that says why:
//
//   - it names a campaign the engine does not know (a typo in the
//     metadata a host attaches to its messages): Ignored with
//     ReasonUnknownCampaign;
//   - it matched a trigger that did not schedule: Suppressed, with the
//     first check that failed (ReasonBeforeActivation,
//     ReasonOriginalNotActive for an interaction with an original that is
//     a draft, stopped or archived, ReasonTriggerTooOld,
//     ReasonTriggerTooFarAhead, ReasonOutsideDuration, ReasonNotInAudience, ReasonAlreadyPending,
//     ReasonNotReeligible, ReasonOutsideSendWindow);
//   - it matched an exception of a follow-up the user waits for, but
//     happened outside the wait: Ignored with ReasonBeforeTrigger or
//     ReasonAfterDue; or it matched an exception of a follow-up the user
//     received after the exception's time, tracked too late: Ignored with
//     ReasonAfterSend (any other exception that finds no pending delivery
//     has nothing to cancel and leaves no decision);
//   - its ID was already processed: Duplicate.
//
// # Warnings
//
// Hazards in the campaign definitions carry ReasonDraftFollowUp,
// ReasonOriginalNotActive, ReasonDelayExceedsDuration,
// ReasonUnknownCampaign, ReasonArchivedCampaign, ReasonCycle,
// ReasonExceptionNeverWhileWaiting, ReasonChannelMismatch,
// ReasonQuietHours (a send window inside the engine's quiet hours) or
// ReasonNoChannel (a follow-up the engine's caps, each on one channel,
// do not cover). The
// engine's Check reports them all, and ReasonOverdueDeliveries about no
// campaign; saving or publishing a campaign hands the observers those
// about it as Warned decisions.
type Reason string

// Reasons.
const (
	// ReasonBeforeActivation: the trigger happened before the follow-up's
	// current activation time.
	ReasonBeforeActivation Reason = "before_activation"
	// ReasonOriginalNotActive: the original campaign was not active (a
	// draft, stopped or archived) when the interaction was processed. An
	// interaction with an inactive original is still evaluated, so this is
	// a suppression of the follow-up's trigger, not an ignored event. (On
	// Warned) an active follow-up triggers on an original that is a draft
	// or stopped: it gets nothing from it until the original is published.
	ReasonOriginalNotActive Reason = "original_not_active"
	// ReasonOutsideDuration: the trigger is before Start, or the due time
	// is not before End.
	ReasonOutsideDuration Reason = "outside_duration"
	// ReasonNotInAudience: the user is not in the audience segment.
	ReasonNotInAudience Reason = "not_in_audience"
	// ReasonAlreadyPending: the user already waits for this follow-up
	// (the default pending policy).
	ReasonAlreadyPending Reason = "already_pending"
	// ReasonNotReeligible: the user received the follow-up and is not
	// eligible again.
	ReasonNotReeligible Reason = "not_reeligible"
	// ReasonDuplicateEvent: the event's ID was already processed.
	ReasonDuplicateEvent Reason = "duplicate_event"
	// ReasonException: an exception event happened while the user waited:
	// at or after the trigger's time (processed after the trigger) and
	// before the due time.
	ReasonException Reason = "exception"
	// ReasonUnknownCampaign: (on Ignored) the event names a campaign the
	// engine does not know, in any state; (on Warned) a trigger, exception
	// or conversion names one. An ignored event of this reason is handed
	// to observers and the logger (at Warn, at most one line per campaign
	// ID a minute) but not kept in the user's decision log: the engine
	// writes nothing for an event it cannot use.
	ReasonUnknownCampaign Reason = "unknown_campaign"
	// ReasonBeforeTrigger: (on Ignored) an exception happened before the
	// trigger of the pending delivery it would cancel: the user did it
	// before waiting for the follow-up. The decision names the delivery;
	// Detail gives the trigger's time.
	ReasonBeforeTrigger Reason = "before_trigger"
	// ReasonAfterDue: (on Ignored) an exception happened at or after the
	// due time of a delivery still pending (not yet sent: no Tick since,
	// a deferral, a retry): the wait was over, and the exception cancels
	// nothing (the delivery goes out, unless its send-time checks drop
	// it or, with ReplaceWithLatest, the same event as a trigger replaces
	// it). Detail gives the due time.
	ReasonAfterDue Reason = "after_due"
	// ReasonAfterSend: (on Ignored) an exception of a follow-up the user
	// no longer waits for was stamped before the user last received it
	// (or was held out of it), and tracked after that delivery: it has
	// nothing left to cancel. Detail gives the delivery's time. Whether
	// it would have cancelled, tracked in time, depends on whether it
	// happened in the wait: at or after that delivery's trigger and
	// before its due time, which its scheduled decision gives (a
	// delivery deferred past its due time went out after the wait). A
	// delivery is held back for exceptions reported late only with
	// connector's WithAllowedLateness.
	ReasonAfterSend Reason = "after_send"
	// ReasonCampaignStopped: the follow-up was stopped or archived, or
	// stopped and resumed since the delivery was scheduled; on Applied,
	// Apply stopped the campaign.
	ReasonCampaignStopped Reason = "campaign_stopped"
	// ReasonReplaced: a newer trigger replaced the pending delivery
	// (replace-with-latest pending policy).
	ReasonReplaced Reason = "replaced"
	// ReasonLate: (on Scheduled) the computed due time had already passed;
	// the delivery is due at once.
	ReasonLate Reason = "late"
	// ReasonSendError: the sender returned an error (on Retried and Failed).
	ReasonSendError Reason = "send_error"
	// ReasonDraftFollowUp: (on Warned) an original was published while a
	// follow-up that targets it is still a draft: its interactions will be
	// lost for that follow-up.
	ReasonDraftFollowUp Reason = "draft_follow_up"
	// ReasonDelayExceedsDuration: (on Warned) the delay can never fit
	// inside the campaign's duration, or the send window never opens
	// between the earliest due time and the end.
	ReasonDelayExceedsDuration Reason = "delay_exceeds_duration"
	// ReasonArchivedCampaign: (on Warned) a trigger or exception names an
	// archived campaign: it will never match again.
	ReasonArchivedCampaign Reason = "archived_campaign"
	// ReasonCycle: (on Warned) follow-ups trigger on each other in a
	// cycle, so one interaction can keep a user receiving them.
	ReasonCycle Reason = "cycle"
	// ReasonExceptionNeverWhileWaiting: (on Warned) an exception can never
	// happen while a user waits: it is an interaction with the follow-up
	// itself, which the user cannot have before receiving it.
	ReasonExceptionNeverWhileWaiting Reason = "exception_never_while_waiting"
	// ReasonChannelMismatch: (on Warned) a trigger, exception or
	// conversion selects an interaction of a channel its campaign is not
	// sent on (a push interaction of an email campaign): it can never
	// happen. Only reported when the campaign's Channel is set.
	ReasonChannelMismatch Reason = "channel_mismatch"
	// ReasonOverdueDeliveries: (on a warning of the engine's Check, about
	// no campaign) pending deliveries are overdue by more than a minute:
	// nothing runs the engine's Run or Tick on the namespace (a forgotten
	// Run), or it cannot keep up.
	ReasonOverdueDeliveries Reason = "overdue_deliveries"
	// ReasonOutsideSendWindow: the delivery falls outside the follow-up's
	// send window (suppressed when scheduling, suppressed or deferred when
	// sending). Detail ends with the zone the window was read in and the
	// user's local time: "… in Europe/Paris (directory), at Tue 08:59
	// local".
	ReasonOutsideSendWindow Reason = "outside_send_window"
	// ReasonQuietHours: the delivery falls in the engine's quiet hours
	// (suppressed, or deferred to their end); Detail ends with them, the
	// zone and the user's local time: "quiet hours 21:00–08:00 in
	// Europe/Paris (directory), at Tue 22:30 local". (On Warned) the
	// follow-up's send window lies entirely inside the quiet hours: it can
	// never send.
	ReasonQuietHours Reason = "quiet_hours"
	// ReasonNoChannel: (on Warned) a follow-up sets no Channel while each
	// of the engine's frequency caps counts one channel: the caps neither
	// count nor limit its deliveries. Set its Channel, or
	// IgnoreFrequencyCaps to say it is meant to go uncapped.
	ReasonNoChannel Reason = "no_channel"
	// ReasonFrequencyCapped: a frequency cap would be exceeded.
	ReasonFrequencyCapped Reason = "frequency_capped"
	// ReasonRateLimited: the follow-up's per-minute rate limit is reached
	// (deferred to the next minute, suppressed once deferred too long).
	ReasonRateLimited Reason = "rate_limited"
	// ReasonControlGroup: (on HeldOut) the user is in the control group;
	// (on Converted) the user converted after being held out in it, sent
	// nothing.
	ReasonControlGroup Reason = "control_group"
	// ReasonTriggerTooOld: the trigger happened longer ago than the
	// engine's maximum trigger age.
	ReasonTriggerTooOld Reason = "trigger_too_old"
	// ReasonTriggerTooFarAhead: the trigger is stamped further ahead of
	// the engine's clock than the engine's maximum trigger lead (a clock
	// running ahead, a forged stamp).
	ReasonTriggerTooFarAhead Reason = "trigger_too_far_ahead"
	// ReasonDirectoryError: the host's Directory failed at send time; the
	// delivery is retried.
	ReasonDirectoryError Reason = "directory_error"
	// ReasonCreated: (on Applied) the campaign was not in the store; it is
	// saved, as a draft until Apply publishes it.
	ReasonCreated Reason = "created"
	// ReasonEdited: (on Applied) the stored definition differed from the
	// one given; the new one is saved and applies to future decisions.
	// Detail is "definition saved", followed by what changed, field by
	// field: "definition saved: delay after 168h0m0s → after 72h0m0s;
	// exceptions +purchase".
	ReasonEdited Reason = "edited"
	// ReasonPublished: (on Applied) a draft or stopped campaign was
	// published (Detail says which: a stopped one is resumed).
	ReasonPublished Reason = "published"
)

// reasons is every Reason constant, in the order of their declaration.
// A test reads this package's source and fails when one is missing.
var reasons = []Reason{
	ReasonBeforeActivation, ReasonOriginalNotActive, ReasonOutsideDuration, ReasonNotInAudience,
	ReasonAlreadyPending, ReasonNotReeligible, ReasonDuplicateEvent, ReasonException,
	ReasonUnknownCampaign, ReasonBeforeTrigger, ReasonAfterDue, ReasonAfterSend,
	ReasonCampaignStopped, ReasonReplaced, ReasonLate, ReasonSendError,
	ReasonDraftFollowUp, ReasonDelayExceedsDuration, ReasonArchivedCampaign, ReasonCycle,
	ReasonExceptionNeverWhileWaiting, ReasonChannelMismatch, ReasonOverdueDeliveries,
	ReasonOutsideSendWindow, ReasonQuietHours, ReasonNoChannel, ReasonFrequencyCapped,
	ReasonRateLimited, ReasonControlGroup, ReasonTriggerTooOld, ReasonTriggerTooFarAhead,
	ReasonDirectoryError, ReasonCreated, ReasonEdited, ReasonPublished,
}

// decisionKinds is every kind of decision, in the order of declaration.
var decisionKinds = []DecisionKind{
	Scheduled, Suppressed, Cancelled, Duplicate, Ignored, Delivered, Retried,
	Failed, Warned, Deferred, HeldOut, Converted, Applied,
}

// DecisionKinds returns every kind of decision the engine takes, the
// constants above, in the order of their declaration, as a new slice: a
// test helper can tell a misspelt kind from one the engine takes.
func DecisionKinds() []DecisionKind { return slices.Clone(decisionKinds) }

// Reasons returns every reason a decision can carry, the constants above,
// in the order of their declaration, as a new slice: a test helper can
// tell a misspelt reason from one the engine gives.
func Reasons() []Reason { return slices.Clone(reasons) }

// Decision is one thing the engine decided, as handed to observers and kept
// in the decision log that explains, per user and follow-up, what happened.
type Decision struct {
	// Kind is what was decided; Reason says why, for the kinds that
	// carry one.
	Kind       DecisionKind `json:"kind"`
	Reason     Reason       `json:"reason,omitempty"`
	CampaignID string       `json:"campaign_id,omitempty"` // the follow-up concerned
	UserID     string       `json:"user_id,omitempty"`     // the user concerned; "" for a warning or an Apply
	// The event that caused the decision (trigger, exception, duplicate);
	// for decisions taken when sending, the delivery's trigger.
	EventID   string     `json:"event_id,omitempty"`
	EventKind event.Kind `json:"event_kind,omitempty"`
	EventTime time.Time  `json:"event_time,omitzero"`
	// The delivery concerned, when there is one, its due time and, for
	// decisions taken when sending, its attempt (1 for the first): a
	// Suppressed decision with a DeliveryID dropped a scheduled delivery
	// when it came due; one without stopped a trigger on arrival.
	DeliveryID string    `json:"delivery_id,omitempty"`
	DueAt      time.Time `json:"due_at,omitzero"`
	Attempt    int       `json:"attempt,omitempty"`
	// Rule is the trigger, exception or conversion that matched, as its
	// String form.
	Rule string `json:"rule,omitempty"`
	// Detail adds what the reason alone does not say: an error's text,
	// how late, which campaign a warning is about.
	Detail string `json:"detail,omitempty"`
	// Backfilled marks triggers replayed from the interaction log.
	Backfilled bool `json:"backfilled,omitempty"`
	// At is the engine clock's time when the decision was taken.
	At time.Time `json:"at"`
	// Namespace is the deciding engine's namespace, set on the decisions
	// handed to observers (one observer may serve several engines).
	Namespace string `json:"namespace,omitempty"`
}

// String renders the decision on one line, for logs and explanations:
// "2026-03-01T09:00:00Z cancelled resend user=a (exception: email_opened of "newsletter")".
// An ID holding spaces, quotes or control characters is quoted with Go's
// escapes, and control characters in the reason's words are escaped, so
// that the line is one line whatever the IDs an event brought hold.
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.At.UTC().Format(time.RFC3339))
	b.WriteByte(' ')
	b.WriteString(string(d.Kind))
	if d.CampaignID != "" {
		b.WriteByte(' ')
		b.WriteString(linetext.Field(d.CampaignID)) // an unknown campaign's is an event's
	}
	if d.UserID != "" {
		fmt.Fprintf(&b, " user=%s", linetext.Field(d.UserID))
	}
	if d.EventID != "" {
		fmt.Fprintf(&b, " event=%s", linetext.Field(d.EventID))
	}
	if !d.DueAt.IsZero() {
		fmt.Fprintf(&b, " due=%s", d.DueAt.UTC().Format(time.RFC3339))
	}
	if d.Attempt > 0 {
		fmt.Fprintf(&b, " attempt=%d", d.Attempt)
	}
	var why []string
	if d.Reason != "" {
		why = append(why, string(d.Reason))
	}
	if d.Rule != "" {
		why = append(why, d.Rule)
	}
	if d.Detail != "" {
		why = append(why, d.Detail)
	}
	if d.Backfilled {
		why = append(why, "backfilled")
	}
	if len(why) > 0 {
		b.WriteString(" (" + linetext.Prose(strings.Join(why, ": ")) + ")")
	}
	return b.String()
}
