package connectortest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/store"
)

// RequirePendingAt asserts that a delivery of campaignID to userID is
// waiting, due at due, and returns it: what a test checks before it moves
// the clock (a calendar delay's due time in the user's zone). due is the
// time the delivery fell or falls due, which a deferral (send window, quiet
// hours, rate limit) or a retry leaves as it was: the time it is tried next
// is the returned Pending's ReadyAt, which the failure gives too.
// A delivery being sent, or one of the control group, counts as waiting
// (its Sending and Control fields tell). Like [Harness.RequireSentAt], its
// failure gives the times in due's location; when none waits, it names the
// last decision about the pair (sent already, cancelled, suppressed).
func (h *Harness) RequirePendingAt(userID, campaignID string, due time.Time) store.Pending {
	h.T.Helper()
	var waiting []store.Pending
	if u, err := h.Store.User(context.Background(), h.Engine.Namespace(), userID); err == nil {
		for _, p := range u.Pending {
			if p.CampaignID == campaignID {
				waiting = append(waiting, *p)
			}
		}
	}
	for _, p := range waiting {
		if p.DueAt.Equal(due) {
			return p
		}
	}
	var b strings.Builder
	h.unknownIDs(&b, userID, campaignID)
	if len(waiting) == 0 { // what became of it: sent, cancelled, suppressed
		if ds := h.DecisionsFor(userID, campaignID); len(ds) > 0 {
			fmt.Fprintf(&b, "the last decision about %q and %q: %s\n", userID, campaignID, ds[len(ds)-1])
		}
	}
	got := "none is waiting"
	for i, p := range waiting {
		if i == 0 {
			got = "got one"
		} else {
			got += ", one"
		}
		got += fmt.Sprintf(" due at %s (%s)", stampIn(p.DueAt, due.Location()), apart(p.DueAt, due))
		if !p.ReadyAt.Equal(p.DueAt) {
			got += fmt.Sprintf(", next tried at %s", stampIn(p.ReadyAt, due.Location()))
		}
	}
	h.T.Fatalf("connectortest: want a delivery of %q waiting for %q, due at %s; %s (the clock is at %s)\n%s%s",
		campaignID, userID, stampIn(due, due.Location()), got, h.Now().UTC().Format(time.RFC3339), b.String(), h.Timeline())
	return store.Pending{}
}
