package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// ErrNoDecisionLog: Explain needs the decision log, which is off unless
// the engine is built with [WithDecisionLog].
var ErrNoDecisionLog = errors.New("connector: no decision log (WithDecisionLog)")

// Explanation is the history of one user and one follow-up: every decision
// the engine recorded about them (oldest first, as far back as the
// decision log keeps), what is pending now, and when the user last
// received the follow-up.
type Explanation struct {
	UserID     string
	CampaignID string
	Decisions  []rule.Decision
	Pending    []store.Pending // deliveries waiting or being sent now
	Received   time.Time       // last receipt; zero if none is remembered
	// CampaignUnknown is set when there is nothing to explain and no
	// campaign of the engine's namespace has the ID CampaignID (a misspelt
	// ID): String says so.
	CampaignUnknown bool
}

// Explain answers "why did (or didn't) this user get this follow-up?": the
// decision history of the pair from the decision log kept in the store, and
// the pair's current state. Its String method renders it as text. Explain
// needs [WithDecisionLog] ([ErrNoDecisionLog] otherwise); a user the store
// knows nothing about has an empty explanation, as has a user ID no event
// can carry (empty, over [event.MaxIDBytes], not valid text: the store is
// not asked). An empty explanation about an ID no campaign has sets
// [Explanation.CampaignUnknown].
func (e *Engine) Explain(ctx context.Context, userID, campaignID string) (Explanation, error) {
	if ctx == nil {
		return Explanation{}, errNilContext("Explain")
	}
	u, err := e.explainRead(ctx, userID)
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{UserID: userID, CampaignID: campaignID}
	if u != nil {
		x = explainOne(u, userID, campaignID)
	}
	if len(x.Decisions) == 0 && len(x.Pending) == 0 && x.Received.IsZero() {
		// Nothing to explain: say whether the ID names a campaign at all.
		// A failed read leaves the flag unset rather than fail Explain.
		_, err := e.Campaign(ctx, campaignID)
		x.CampaignUnknown = errors.Is(err, ErrUnknownCampaign)
	}
	return x, nil
}

// ExplainUser is [Engine.Explain] for every follow-up at once, from one
// read of the user's state: an explanation for each campaign the user has
// a decision, a pending delivery or a receipt of, sorted by campaign ID
// (none for a user the store knows nothing about). It needs
// [WithDecisionLog] too.
func (e *Engine) ExplainUser(ctx context.Context, userID string) ([]Explanation, error) {
	if ctx == nil {
		return nil, errNilContext("ExplainUser")
	}
	u, err := e.explainRead(ctx, userID)
	if err != nil || u == nil {
		return nil, err
	}
	return explainAll(u, userID), nil
}

// explainRead reads userID's state for an explanation: nil (and no error)
// when the store knows nothing of the user.
func (e *Engine) explainRead(ctx context.Context, userID string) (*store.UserState, error) {
	if e.cfg.logMax == 0 {
		return nil, ErrNoDecisionLog
	}
	if userID == "" || len(userID) > event.MaxIDBytes || event.CheckText(userID) != nil {
		// No event names such a user, so the engine knows nothing of it;
		// a store that cannot hold the text (PostgreSQL and a NUL byte)
		// would fail the read as if it were down.
		return nil, nil
	}
	u, err := e.store.User(ctx, e.cfg.namespace, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("connector: explain: %w", err)
	}
	return &u, nil
}

// explainAll is the explanation of u and each campaign it has a decision,
// a pending delivery or a receipt of, sorted by campaign ID. It goes over
// each of u's lists once, sorting their entries out by campaign: asking
// explainOne for each campaign would go over them once per campaign, and
// a user whose log holds 20,000 decisions about as many follow-ups would
// take seconds rather than milliseconds.
func explainAll(u *store.UserState, userID string) []Explanation {
	byID := make(map[string]*Explanation)
	get := func(id string) *Explanation {
		x := byID[id]
		if x == nil {
			x = &Explanation{UserID: userID, CampaignID: id}
			byID[id] = x
		}
		return x
	}
	for _, d := range u.Log {
		if d.CampaignID != "" {
			x := get(d.CampaignID)
			x.Decisions = append(x.Decisions, d)
		}
	}
	for _, p := range u.Pending {
		if p.CampaignID != "" {
			x := get(p.CampaignID)
			x.Pending = append(x.Pending, *p)
		}
	}
	for i := len(u.Receipts) - 1; i >= 0; i-- { // the first of a campaign's receipts wins, as in UserState.Receipt
		if r := u.Receipts[i]; r.CampaignID != "" {
			get(r.CampaignID).Received = r.At
		}
	}
	out := make([]Explanation, 0, len(byID))
	for _, x := range byID {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b Explanation) int { return strings.Compare(a.CampaignID, b.CampaignID) })
	return out
}

// explainOne is the explanation of u and campaignID.
func explainOne(u *store.UserState, userID, campaignID string) Explanation {
	x := Explanation{UserID: userID, CampaignID: campaignID}
	for _, d := range u.Log {
		if d.CampaignID == campaignID {
			x.Decisions = append(x.Decisions, d)
		}
	}
	for _, p := range u.Pending {
		if p.CampaignID == campaignID {
			x.Pending = append(x.Pending, *p)
		}
	}
	if r, ok := u.Receipt(campaignID); ok {
		x.Received = r.At
	}
	return x
}

// String renders the explanation, one line per decision, in words:
//
//	ann and "resend":
//	  2026-01-05T00:00:00Z triggered by email_received of "newsletter" (event rcv-1): scheduled, due 2026-01-12T00:00:00Z
//	  2026-01-07T00:00:00Z email_opened (event open-1): cancelled by the exception email_opened of "newsletter" — waiting since 2026-01-05T00:00:00Z
//
// The zero Explanation, which Explain returns with an error, says so.
func (x Explanation) String() string {
	if x.UserID == "" && x.CampaignID == "" && len(x.Decisions) == 0 && len(x.Pending) == 0 && x.Received.IsZero() {
		return "no explanation (the zero Explanation: check the error Explain returned)\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s and %q:\n", linetext.Field(x.UserID), x.CampaignID)
	if len(x.Decisions) == 0 {
		b.WriteString("  no decision recorded (nothing triggered this follow-up for this user, or the log no longer has it)\n")
	}
	if x.CampaignUnknown {
		fmt.Fprintf(&b, "  no campaign %q is saved in the engine's namespace: a misspelt ID?\n", x.CampaignID)
	}
	for _, d := range x.Decisions {
		fmt.Fprintf(&b, "  %s %s\n", d.At.UTC().Format(time.RFC3339), linetext.Prose(describeDecision(d))) // to the second: the lines align
	}
	for _, p := range x.Pending {
		state := "waiting"
		if p.Sending {
			state = "being sent"
		}
		tried := ""
		switch {
		case p.Attempt == 1:
			tried = " (1 attempt so far)"
		case p.Attempt > 1:
			tried = fmt.Sprintf(" (%d attempts so far)", p.Attempt)
		}
		fmt.Fprintf(&b, "  now: delivery %s %s, due %s%s\n", linetext.Field(p.ID), state, stamp(p.DueAt), tried)
	}
	if !x.Received.IsZero() {
		fmt.Fprintf(&b, "  last received %s\n", x.Received.UTC().Format(time.RFC3339)) // to the second, as the lines
	}
	return b.String()
}

// describeDecision says one decision in words.
func describeDecision(d rule.Decision) string {
	var cause string
	if d.EventKind != "" {
		cause = string(d.EventKind)
		if d.EventID != "" {
			cause += " (event " + linetext.Field(d.EventID) + ")"
		}
		// The line gives the decision's time to the second: the event's
		// is said when it falls in another second (a late event), not
		// for the fraction a decision takes after a provider's stamp.
		if !d.EventTime.IsZero() && !d.EventTime.Truncate(time.Second).Equal(d.At.Truncate(time.Second)) {
			cause += " at " + stamp(d.EventTime)
		}
	}
	var s string
	switch d.Kind {
	case rule.Scheduled:
		s = "triggered by " + orDefault(d.Rule, cause) + ": scheduled, due " + stamp(d.DueAt)
		if d.Rule != "" && cause != "" {
			// A trigger's rule names the event's kind: the event's ID and
			// time follow the rule, not the kind again.
			if rest, ok := strings.CutPrefix(cause, string(d.EventKind)); ok && strings.HasPrefix(d.Rule, string(d.EventKind)) {
				s = "triggered by " + d.Rule + rest + ": scheduled, due " + stamp(d.DueAt)
			} else {
				s = "triggered by " + d.Rule + ", on " + cause + ": scheduled, due " + stamp(d.DueAt)
			}
		}
	case rule.Suppressed:
		s = cause + ": not scheduled: " + reasonText(d.Reason)
		if d.DeliveryID != "" { // a scheduled delivery's, when it came due
			s = "dropped when due: " + reasonText(d.Reason)
		}
	case rule.Cancelled:
		s = "cancelled: " + reasonText(d.Reason)
		if d.Reason == rule.ReasonException {
			s = cause + ": cancelled by the exception " + d.Rule
		}
	case rule.Duplicate:
		s = cause + ": ignored, already processed"
	case rule.Ignored:
		s = cause + ": ignored: " + reasonText(d.Reason)
		if d.Rule != "" {
			s = cause + ": the exception " + d.Rule + " did not cancel: " + reasonText(d.Reason)
		}
	case rule.Delivered:
		s = fmt.Sprintf("delivered (delivery %s, attempt %d)", d.DeliveryID, d.Attempt)
	case rule.Retried:
		s = fmt.Sprintf("send failed (attempt %d), will retry", d.Attempt)
		if d.Reason == rule.ReasonDirectoryError {
			s = "held back: " + reasonText(d.Reason) + ", will retry"
		}
	case rule.Failed:
		s = fmt.Sprintf("send failed for good (attempt %d): %s", d.Attempt, reasonText(d.Reason))
		if d.Reason == rule.ReasonDirectoryError {
			s = "failed for good: " + reasonText(d.Reason)
		}
	case rule.Deferred:
		s = "deferred: " + reasonText(d.Reason)
	case rule.HeldOut:
		s = "held out: in the control group, nothing sent (counts as received)"
	case rule.Converted:
		s = cause + ": converted (" + d.Rule + ")"
		if d.Reason == rule.ReasonControlGroup { // Detail says when the user was held out
			s += ", without the message"
		}
	default:
		s = string(d.Kind) + " " + reasonText(d.Reason)
	}
	if d.Reason == rule.ReasonLate {
		s += " (late)"
	}
	if d.Detail != "" {
		s += " — " + d.Detail
	}
	if d.Backfilled {
		s += " [backfill]"
	}
	return strings.TrimPrefix(s, ": ")
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reasonText says a reason in words.
func reasonText(r rule.Reason) string {
	if s, ok := reasonTexts[r]; ok {
		return s
	}
	return string(r)
}

// reasonTexts says each reason of package rule as a clause after a colon
// ("not scheduled: the user is not in the audience"), in the words the
// dashboard uses for it; a test in package dashboard fails when a Reason
// constant has none here, or when the two say it in different terms.
var reasonTexts = map[rule.Reason]string{
	rule.ReasonBeforeActivation:           "the trigger came before the follow-up was published or resumed",
	rule.ReasonOriginalNotActive:          "the original campaign was not active (a draft, stopped or archived)",
	rule.ReasonOutsideDuration:            "outside the campaign's start and end dates",
	rule.ReasonNotInAudience:              "the user is not in the audience",
	rule.ReasonAlreadyPending:             "the user already waits for this follow-up",
	rule.ReasonNotReeligible:              "the user received it already and is not eligible again",
	rule.ReasonDuplicateEvent:             "the same event was received twice",
	rule.ReasonException:                  "an exception happened while the user waited",
	rule.ReasonUnknownCampaign:            "it names a campaign the engine does not know",
	rule.ReasonBeforeTrigger:              "it happened before the trigger, before the user waited",
	rule.ReasonAfterDue:                   "it happened at or after the due time, when the wait was over",
	rule.ReasonAfterSend:                  "it happened before the user last received the follow-up, and was tracked after that delivery, with nothing left to cancel",
	rule.ReasonCampaignStopped:            "the follow-up was stopped or archived",
	rule.ReasonReplaced:                   "replaced by a newer trigger",
	rule.ReasonLate:                       "it was already due when scheduled",
	rule.ReasonSendError:                  "the sender returned an error",
	rule.ReasonDraftFollowUp:              "a follow-up of an active original is still a draft",
	rule.ReasonDelayExceedsDuration:       "it can never fall due within the campaign's dates or send window",
	rule.ReasonArchivedCampaign:           "it names an archived campaign",
	rule.ReasonCycle:                      "follow-ups trigger each other in a loop",
	rule.ReasonExceptionNeverWhileWaiting: "the exception can never happen while a user waits",
	rule.ReasonChannelMismatch:            "it names an interaction of a channel the campaign is not sent on",
	rule.ReasonOverdueDeliveries:          "deliveries are overdue: is the engine running?",
	rule.ReasonOutsideSendWindow:          "outside the send window",
	rule.ReasonQuietHours:                 "in quiet hours",
	rule.ReasonNoChannel:                  "it sets no channel: no frequency cap counts it",
	rule.ReasonFrequencyCapped:            "the user reached a frequency cap",
	rule.ReasonRateLimited:                "the follow-up's rate limit (per minute) was reached",
	rule.ReasonControlGroup:               "the user is in the control group",
	rule.ReasonTriggerTooOld:              "the trigger was too old when it arrived",
	rule.ReasonTriggerTooFarAhead:         "the trigger was stamped too far in the future when it arrived",
	rule.ReasonDirectoryError:             "the user directory (time zone, segments) failed",
	rule.ReasonCreated:                    "the campaign was created",
	rule.ReasonEdited:                     "the campaign definition changed",
	rule.ReasonPublished:                  "the campaign was published",
}
