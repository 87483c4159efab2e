package connector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// TestAnExceptionReportedAfterTheSendSaysSo checks that an exception
// stamped during the wait but tracked after the delivery went out (a
// purchase the shop reports late) leaves an ignored decision naming the
// send, so that the user's history answers "she opened it, and still got
// the follow-up": before, it left nothing.
func TestAnExceptionReportedAfterTheSendSaysSo(t *testing.T) {
	h := started(t, nil)
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(time.Hour)
	h.RequireSentAt("u", "f", t0.Add(time.Hour))
	sent := h.Now()
	h.Advance(30 * time.Minute)
	h.TrackAt(t0.Add(20*time.Minute), interaction("u", event.EmailOpened, "newsletter"))
	d := h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterSend)
	require.Equal(t, t0.Add(20*time.Minute), d.EventTime)
	require.Equal(t, event.EmailOpened, d.EventKind)
	require.Contains(t, d.Detail, sent.UTC().Format(time.RFC3339Nano))
	require.Equal(t, int64(1), h.Engine.EventCounts().Ignored[rule.ReasonAfterSend])
	x, err := h.Engine.Explain(context.Background(), "u", "f")
	require.NoError(t, err)
	require.Contains(t, x.String(), "tracked after that delivery")
	h.RequireKinds("u", "f", "scheduled", "delivered", "ignored/after_send")
}

// TestAnExceptionAfterTheSendIsNotLate checks what does not count as late:
// an exception stamped after the send (the user did it after receiving
// the follow-up), one for a follow-up the user never received, and one
// that met a pending delivery of the follow-up (that decision says it).
func TestAnExceptionAfterTheSendIsNotLate(t *testing.T) {
	h := started(t, func(c *rule.Campaign) { c.Reeligibility = rule.ReeligibleAfter(0) })
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(time.Hour)
	h.RequireSent("u", "f")
	h.Advance(time.Minute)
	h.Track(interaction("u", event.EmailOpened, "newsletter")) // after the send
	h.Track(interaction("v", event.EmailOpened, "newsletter")) // never received it
	h.RequireKinds("u", "f", "scheduled", "delivered")
	require.Empty(t, h.DecisionsFor("v", "f"))

	// A new wait: an exception stamped before the first send is before
	// this trigger, and says that, once.
	t1 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.TrackAt(t1.Add(-2*time.Hour), interaction("u", event.EmailOpened, "newsletter"))
	h.RequireKinds("u", "f", "scheduled", "delivered", "scheduled", "ignored/before_trigger")
	require.Zero(t, h.Engine.EventCounts().Ignored[rule.ReasonAfterSend])
}

// TestAnExceptionAfterAnExpiredReceiptIsNotLate checks that a receipt
// past its retention, which pruning may not have removed yet, does not
// make a late exception's decision: whether it does would depend on when
// the store pruned.
func TestAnExceptionAfterAnExpiredReceiptIsNotLate(t *testing.T) {
	h := started(t, nil, connector.WithReceiptRetention(2*time.Hour), connector.WithPruneInterval(1000*time.Hour))
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(time.Hour)
	h.RequireSent("u", "f")
	h.Advance(3 * time.Hour)
	h.TrackAt(t0.Add(10*time.Minute), interaction("u", event.EmailOpened, "newsletter"))
	h.RequireKinds("u", "f", "scheduled", "delivered")
}

// TestAnExceptionOfManyFollowUpsReportedAfterTheirSends checks that an
// exception many follow-ups share (a purchase cancelling every reminder)
// records after_send for each follow-up it came too late for, however
// many: not only for the first 63 it matched.
func TestAnExceptionOfManyFollowUpsReportedAfterTheirSends(t *testing.T) {
	h := connectortest.New(t)
	const n = 70
	cs := []rule.Campaign{{ID: "newsletter"}}
	var ids []string
	for i := range n {
		f := waitCampaign(func(c *rule.Campaign) { c.ID, c.IgnoreFrequencyCaps = fmt.Sprintf("f%02d", i), true })[1]
		cs, ids = append(cs, f), append(ids, f.ID)
	}
	h.Save(cs...)
	h.Publish(append(ids, "newsletter")...)
	t0 := h.Now()
	h.Track(interaction("u", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour)
	h.TrackAt(t0.Add(10*time.Minute), interaction("u", event.EmailOpened, "newsletter"))
	for _, id := range ids {
		h.RequireKinds("u", id, "scheduled", "delivered", "ignored/after_send")
	}
	require.Equal(t, int64(n), h.Engine.EventCounts().Ignored[rule.ReasonAfterSend])
}

// TestABackfillReplaysNoLateException checks that a backfill of a
// follow-up published again does not take the exceptions it replays for
// late reports of an earlier activation's send: the open was tracked
// before that send (when ann waited for nothing), and the backfill
// replays it as if the follow-up had been active then.
func TestABackfillReplaysNoLateException(t *testing.T) {
	h := connectortest.New(t, connector.WithInteractionLog(30*day))
	newsletter, resend := resendToNonOpeners()
	h.Save(newsletter, resend)
	h.Publish("resend", "newsletter")
	t0 := h.Now()
	h.Track(event.Event{ID: "o-ann", UserID: "ann", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Advance(time.Hour)
	h.Track(event.Event{ID: "r-ann", UserID: "ann", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Advance(8 * day)
	h.RequireSent("ann", "resend")
	h.Stop("resend")
	h.Advance(day)
	require.NoError(t, h.Engine.Publish(context.Background(), "resend", connector.Backfill(t0)))
	h.Advance(day)
	h.RequireKinds("ann", "resend", "scheduled", "delivered", "suppressed/not_reeligible")
	require.Zero(t, h.Engine.EventCounts().Ignored[rule.ReasonAfterSend])
}

// TestAnExceptionReportedAfterADeferredSend pins what the docs say of a
// delivery deferred past its due time: an exception stamped after the
// due time and before the send is after the wait (after_due while the
// delivery waits for its send), and, reported after the send, records
// after_send all the same: only its time, against the scheduled
// decision's due time, tells that it would not have cancelled.
func TestAnExceptionReportedAfterADeferredSend(t *testing.T) {
	quiet := connector.WithQuietHours(connector.QuietHours{From: rule.At(0, 30), To: rule.At(6, 0), Defer: true})
	h := started(t, nil, quiet)
	t0 := h.Now() // midnight
	h.Track(interaction("u", event.EmailReceived, "newsletter"), interaction("v", event.EmailReceived, "newsletter"))
	h.Advance(2 * time.Hour) // due at 01:00, deferred to 06:00
	h.Track(interaction("u", event.EmailOpened, "newsletter"))
	d := h.RequireReason("u", "f", rule.Ignored, rule.ReasonAfterDue)
	require.Equal(t, "the wait ended at the due time "+t0.Add(time.Hour).UTC().Format(time.RFC3339), d.Detail,
		"the detail gives the due time, and does not promise the send (its checks may still drop it)")
	h.Advance(6 * time.Hour)
	h.RequireSentAt("v", "f", t0.Add(6*time.Hour))
	h.TrackAt(t0.Add(2*time.Hour), interaction("v", event.EmailOpened, "newsletter"))
	h.RequireKinds("v", "f", "scheduled", "deferred/quiet_hours", "delivered", "ignored/after_send")
	require.Equal(t, t0.Add(time.Hour), h.DecisionsFor("v", "f")[0].DueAt)
}
