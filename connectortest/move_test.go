package connectortest_test

import (
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connectortest"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// An open at exactly the resend's due time, tracked after MoveTo, meets
// the resend still waiting: it cancels nothing (an exception must come
// before the due time), the engine records it as after_due, and the next
// Tick sends the resend at its due time. A user who opens a second
// earlier has theirs cancelled.
func TestMoveToTracksAnEventAtADueTime(t *testing.T) {
	h := connectortest.New(t)
	h.Apply(resendCampaignsForTest()...)
	h.Track(event.Event{UserID: "cat", Kind: event.EmailReceived, CampaignID: "newsletter"})
	h.Track(event.Event{UserID: "fay", Kind: event.EmailReceived, CampaignID: "newsletter"})
	due := connectortest.Start.Add(24 * time.Hour)
	h.MoveTo(due.Add(-time.Second))
	h.Track(event.Event{UserID: "fay", Kind: event.EmailOpened, CampaignID: "newsletter"})
	if n := h.MoveTo(due); n != 0 {
		t.Fatalf("MoveTo(due) sent %d, want the deliveries due then left waiting", n)
	}
	h.Track(event.Event{UserID: "cat", Kind: event.EmailOpened, CampaignID: "newsletter"})
	h.Tick()
	h.RequireSentAt("cat", "resend", due)
	h.RequireReason("cat", "resend", rule.Ignored, rule.ReasonAfterDue)
	h.RequireNotSent("fay", "resend")
	h.RequireReason("fay", "resend", rule.Cancelled, rule.ReasonException)
}
