package connectortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// hints says, one line each, what most often explains a failed assertion
// that expected userID to get (or be decided about) campaignID, or "":
//   - an ID the engine does not know (a misspelt ID fails the assertion
//     too, and the author should look at it, not at the campaign);
//   - a delivery due at the clock's now but never ticked (the clock moved
//     with h.Clock, or an immediate follow-up tracked, without a Tick);
//   - a delivery still waiting for a time the clock has not reached, with
//     the move that sends it (the test asserts before it advances enough);
//   - when none waits, the last decision about the pair, which a long
//     timeline buries (a cancellation, a suppression and its reason).
func (h *Harness) hints(userID, campaignID string) string {
	var b strings.Builder
	h.unknownIDs(&b, userID, campaignID)
	u, err := h.Store.User(context.Background(), h.Engine.Namespace(), userID)
	if err != nil || !slices.ContainsFunc(u.Pending, func(p *store.Pending) bool { return p.CampaignID == campaignID }) {
		if ds := h.DecisionsFor(userID, campaignID); len(ds) > 0 {
			fmt.Fprintf(&b, "the last decision about %q and %q: %s\n", userID, campaignID, ds[len(ds)-1])
		}
	}
	if err != nil {
		return b.String() // no state, or none readable: nothing more to say
	}
	now := h.Now()
	for _, p := range u.Pending {
		if p.CampaignID != campaignID || p.Sending {
			continue
		}
		if !p.ReadyAt.After(now) {
			fmt.Fprintf(&b, "delivery %s was due at %s but nothing ticked: call h.Advance or h.Tick\n",
				p.ID, p.DueAt.UTC().Format(time.RFC3339))
			continue
		}
		note := ""
		if !p.ReadyAt.Equal(p.DueAt) {
			note = ", next tried at " + p.ReadyAt.UTC().Format(time.RFC3339)
		}
		if p.Control {
			note += " (control group: nothing will be sent)"
		}
		fmt.Fprintf(&b, "delivery %s is still waiting, due at %s%s: the clock is at %s; advance it by %v to get there\n",
			p.ID, p.DueAt.UTC().Format(time.RFC3339), note, now.UTC().Format(time.RFC3339), p.ReadyAt.Sub(now))
	}
	return b.String()
}

// unknownIDs writes a line to b if campaignID is no campaign the engine
// knows, naming those it knows, and one if no decision concerns userID.
func (h *Harness) unknownIDs(b *strings.Builder, userID, campaignID string) {
	ctx := context.Background()
	if _, err := h.Engine.Campaign(ctx, campaignID); errors.Is(err, connector.ErrUnknownCampaign) {
		var ids []string
		if recs, err := h.Engine.Campaigns(ctx); err == nil {
			for _, r := range recs {
				ids = append(ids, strconv.Quote(r.Campaign.ID))
			}
		}
		known := "none"
		if len(ids) > 0 {
			slices.Sort(ids)
			known = strings.Join(ids, ", ")
		}
		fmt.Fprintf(b, "no campaign %q is saved (the engine knows %s): a misspelt ID?\n", campaignID, known)
	}
	if !slices.ContainsFunc(h.Decisions(), func(d rule.Decision) bool { return d.UserID == userID }) {
		fmt.Fprintf(b, "no decision concerns user %q: a misspelt ID, or none of the user's events reached a follow-up\n", userID)
	}
}

// logUnknownCampaign logs, without failing, that an assertion that
// something did not happen passed about a campaign no one saved: most
// likely a misspelt ID, about which any such assertion passes.
func (h *Harness) logUnknownCampaign(assertion, campaignID string) {
	var b strings.Builder
	h.unknownIDs(&b, "", campaignID)
	if line, ok := strings.CutPrefix(b.String(), "no campaign "); ok {
		line, _, _ = strings.Cut(line, "\n")
		h.T.Logf("connectortest: %s passes, but no campaign %s", assertion, line)
	}
}
