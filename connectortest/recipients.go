package connectortest

import (
	"fmt"
	"slices"
	"strings"
)

// Recipients returns the users campaignID was delivered to, each once, in
// the order of their first delivery.
func (h *Harness) Recipients(campaignID string) []string {
	var users []string
	for _, d := range h.Sent() {
		if d.CampaignID == campaignID && !slices.Contains(users, d.UserID) {
			users = append(users, d.UserID)
		}
	}
	return users
}

// RequireRecipients asserts that campaignID was delivered to exactly the
// users given, in any order, each at least once: it catches a delivery
// to a user the test did not think of, which per-user assertions miss.
// With no users it asserts that campaignID was delivered to no one, and,
// like [Harness.RequireNotSent], logs that campaignID is no campaign
// saved. Its
// failure names the users missing and those not expected, with what
// [Harness.RequireSent] says about each user missing.
func (h *Harness) RequireRecipients(campaignID string, userIDs ...string) {
	h.T.Helper()
	got := h.Recipients(campaignID)
	var missing, extra []string
	for _, u := range userIDs {
		if !slices.Contains(got, u) && !slices.Contains(missing, u) {
			missing = append(missing, u)
		}
	}
	for _, u := range got {
		if !slices.Contains(userIDs, u) {
			extra = append(extra, u)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		if len(userIDs) == 0 {
			h.logUnknownCampaign("RequireRecipients", campaignID)
		}
		return
	}
	var b strings.Builder
	if len(missing) > 0 {
		fmt.Fprintf(&b, "not delivered to %s\n", quoteAll(missing))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, "delivered to %s too\n", quoteAll(extra))
	}
	if len(missing) == 0 {
		h.unknownIDs(&b, got[0], campaignID) // a known user: only an unknown campaign is named
	}
	for i, u := range missing {
		for _, l := range strings.SplitAfter(h.hints(u, campaignID), "\n") {
			switch {
			case i > 0 && strings.HasPrefix(l, "no campaign "): // the unknown campaign once is enough
			case strings.HasPrefix(l, "delivery "): // its user, among several missing
				fmt.Fprintf(&b, "to %q: %s", u, l)
			default:
				b.WriteString(l)
			}
		}
	}
	h.T.Fatalf("connectortest: want %q delivered to exactly %s, got %s\n%s%s", campaignID, quoteAll(userIDs),
		quoteAll(got), b.String(), h.Timeline())
}

// quoteAll renders ids as a list of quoted strings: ["ann", "bob"], or [].
func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
