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
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/editdist"
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
//     timeline buries (a cancellation, a suppression and its reason);
//   - the campaigns no one saved that the user's events named (a misspelt
//     CampaignID in the test's events, which reach no follow-up);
//   - a trigger on the receipt of a follow-up the user was sent, when
//     nothing was decided about the pair: the engine reports no receipt
//     of what it sends, and a test that does not track it sees nothing.
func (h *Harness) hints(userID, campaignID string) string {
	var b strings.Builder
	h.unknownIDs(&b, userID, campaignID)
	h.unknownEvents(&b, userID)
	h.untrackedReceipts(&b, userID, campaignID)
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
	h.T.Helper()
	if line, ok := h.unknownCampaign(campaignID); ok {
		h.T.Logf("connectortest: %s passes, but no campaign %s", assertion, line)
	}
}

// logStillWaiting logs, without failing, that an assertion that
// campaignID was never delivered to userID passed while a delivery of the
// pair still waits (one of the control group aside, which is never sent):
// most often a test that did not advance the clock past its due time, so
// the assertion says nothing yet. It names the campaigns no one saved that
// userID's events named, whose events cancel nothing.
func (h *Harness) logStillWaiting(assertion, userID, campaignID string) {
	h.T.Helper()
	u, err := h.Store.User(context.Background(), h.Engine.Namespace(), userID)
	if err != nil {
		return
	}
	for _, p := range u.Pending {
		if p.CampaignID != campaignID || p.Control {
			continue
		}
		now := h.Now()
		msg := fmt.Sprintf("connectortest: %s passes, but a delivery of %q to %q is still waiting, due at %s",
			assertion, campaignID, userID, p.DueAt.UTC().Format(time.RFC3339))
		// Held past its due time (a deferral, allowed lateness, a retry),
		// it is tried at ReadyAt, which the clock must pass: the due time
		// may have gone by already.
		past := "it"
		if ready := p.ReadyAt.UTC().Format(time.RFC3339); !p.ReadyAt.Equal(p.DueAt) {
			if p.Attempt > 0 {
				msg += ", next tried at " + ready + " after " + plural(p.Attempt, "failed attempt", "failed attempts")
			} else {
				msg += ", held until " + ready
			}
			past = ready
		}
		msg += " (the clock is at " + now.UTC().Format(time.RFC3339) + "): "
		if p.ReadyAt.After(now) {
			msg += "advance the clock past " + past + " to assert that it is never sent"
		} else {
			msg += "nothing ticked since it fell due: call h.Advance or h.Tick first"
		}
		var b strings.Builder
		h.unknownEvents(&b, userID)
		if b.Len() > 0 {
			msg += "\n" + strings.TrimSuffix(b.String(), "\n")
		}
		h.T.Logf("%s", msg)
		return
	}
}

// unknownCampaign returns unknownIDs' line about campaignID, after its
// "no campaign ", when no campaign has that ID.
func (h *Harness) unknownCampaign(campaignID string) (string, bool) {
	var b strings.Builder
	h.unknownIDs(&b, "", campaignID)
	line, ok := strings.CutPrefix(b.String(), "no campaign ")
	line, _, _ = strings.Cut(line, "\n")
	return line, ok
}

// unknownEvents writes a line to b naming the campaigns, still unknown to
// the engine, that userID's events named: the engine ignored those events
// (unknown_campaign), so a misspelt CampaignID in a test's events triggers
// or cancels nothing.
func (h *Harness) unknownEvents(b *strings.Builder, userID string) {
	ctx := context.Background()
	var named []string
	seen := map[string]bool{}
	for _, d := range h.Decisions() {
		if d.UserID != userID || d.Kind != rule.Ignored || d.Reason != rule.ReasonUnknownCampaign || seen[d.CampaignID] {
			continue
		}
		seen[d.CampaignID] = true
		if _, err := h.Engine.Campaign(ctx, d.CampaignID); !errors.Is(err, connector.ErrUnknownCampaign) {
			continue // saved since: the event was early, not misspelt
		}
		named = append(named, fmt.Sprintf("%q (%s at %s)", d.CampaignID, d.EventKind, d.EventTime.UTC().Format(time.RFC3339)))
	}
	if len(named) > 0 {
		fmt.Fprintf(b, "events of %q named campaigns no one saved: %s: a misspelt CampaignID in the test's events?\n",
			userID, strings.Join(named, ", "))
	}
}

// receiptKinds are the receipts a host reports: the engine emits none of
// them for the deliveries it sends.
var receiptKinds = []event.Kind{
	event.EmailReceived, event.SMSReceived, event.PushReceived, event.WebhookReceived,
	event.InAppMessageViewed, event.ContentCardViewed,
}

// untrackedReceipts writes a line to b for each trigger of campaignID on
// the receipt of a campaign the engine delivered to userID, when no
// decision about userID and campaignID exists: the receipt was never
// tracked, since the engine does not report the receipts of its own sends
// (a chain "B when A is received" needs the host to track A's receipt).
func (h *Harness) untrackedReceipts(b *strings.Builder, userID, campaignID string) {
	if len(h.DecisionsFor(userID, campaignID)) > 0 {
		return
	}
	rec, err := h.Engine.Campaign(context.Background(), campaignID)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, tr := range rec.Campaign.Triggers {
		key := string(tr.Kind) + " " + tr.CampaignID
		if seen[key] || !slices.Contains(receiptKinds, tr.Kind) || len(h.SentTo(userID, tr.CampaignID)) == 0 {
			continue
		}
		seen[key] = true
		fmt.Fprintf(b, "%q triggers on %s of %q, which was delivered to %q, but no decision about %q followed: "+
			"the engine reports no receipt of what it sends; track the %s of %q as your provider reports it\n",
			campaignID, tr.Kind, tr.CampaignID, userID, campaignID, tr.Kind, tr.CampaignID)
	}
}

// noConversionWindow writes a line to b when campaignID declares
// conversions and userID has no conversion window of it open: a window
// opens on a receipt the host tracks (or a control-group hold-out), not
// on the engine's delivery, so a test that tracks no receipt sees no
// conversion.
func (h *Harness) noConversionWindow(b *strings.Builder, userID, campaignID string) {
	ctx := context.Background()
	rec, err := h.Engine.Campaign(ctx, campaignID)
	if err != nil || len(rec.Campaign.Conversions) == 0 {
		return
	}
	if u, err := h.Store.User(ctx, h.Engine.Namespace(), userID); err == nil &&
		slices.ContainsFunc(u.Conversions, func(w store.ConversionWindow) bool { return w.CampaignID == campaignID }) {
		return
	}
	fmt.Fprintf(b, "no conversion window of %q is open for %q: one opens on a receipt of %q (push_received, email_received…) "+
		"that you track, or on its control group; the engine reports no receipt of what it sends\n", campaignID, userID, campaignID)
}

// kindWords are words a test may write for a decision kind that are no
// kind's name, nor near one: the engine calls a send "delivered", and
// Warned's name is "warning".
var kindWords = map[string]rule.DecisionKind{
	"sent":     rule.Delivered,
	"received": rule.Delivered,
	"warned":   rule.Warned,
}

// kindNote is "" when kind is one of rule's decision kinds, else says
// that it is none, with the kind it most likely misspells: `"canceled"
// is no decision kind (did you mean "cancelled"?)`. With none near, it
// lists the kinds, unless kind is "".
func kindNote(kind rule.DecisionKind) string {
	if slices.Contains(decisionKinds, kind) {
		return ""
	}
	note := fmt.Sprintf("%q is no decision kind", kind)
	names := make([]string, len(decisionKinds))
	for i, k := range decisionKinds {
		names[i] = string(k)
	}
	near := kindWords[strings.ToLower(string(kind))]
	if near == "" {
		near = rule.DecisionKind(nearest(string(kind), names))
	}
	switch {
	case near != "":
		note += fmt.Sprintf(" (did you mean %q?)", near)
	case kind != "":
		note += " (the kinds are " + strings.Join(names, ", ") + ")"
	}
	return note
}

// reasonNote is "" when reason is "" or one of rule's reasons, else says
// that the engine never gives it, with the reason it most likely
// misspells: `"exceptoin" is no reason the engine gives (did you mean
// "exception"?)`.
func reasonNote(reason rule.Reason) string {
	all := rule.Reasons()
	if reason == "" || slices.Contains(all, reason) {
		return ""
	}
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = string(r)
	}
	note := fmt.Sprintf("%q is no reason the engine gives", reason)
	if near := nearest(string(reason), names); near != "" {
		return note + fmt.Sprintf(" (did you mean %q?)", near)
	}
	return note + " (rule.Reasons lists them)"
}

// entryNotes writes a line to b for each entry of a RequireKinds want
// that no decision can match: a kind or a reason that does not exist
// (each with the one it most likely misspells), a reason left empty
// after the slash of a kind that exists, or several decisions in one
// entry.
func entryNotes(b *strings.Builder, want []string) {
	seen := map[string]bool{}
	for _, w := range want {
		if seen[w] {
			continue
		}
		seen[w] = true
		if n := severalNote(w); n != "" {
			fmt.Fprintf(b, "want %q matches no decision: %s\n", w, n)
			continue
		}
		kind, reason, slash := strings.Cut(w, "/")
		var notes []string
		kn := kindNote(rule.DecisionKind(kind))
		if kn != "" {
			notes = append(notes, kn)
		}
		if slash && reason == "" && kn == "" {
			notes = append(notes, fmt.Sprintf("a decision with no reason is written %q", kind))
		}
		if n := reasonNote(rule.Reason(reason)); n != "" {
			notes = append(notes, n)
		}
		if len(notes) > 0 {
			fmt.Fprintf(b, "want %q matches no decision: %s\n", w, strings.Join(notes, "; "))
		}
	}
}

// severalNote is "" unless entry is decisions written apart by spaces,
// each one RequireKinds could match: then it says to pass each as an
// entry of its own.
func severalNote(entry string) string {
	fields := strings.Fields(entry)
	if len(fields) < 2 {
		return ""
	}
	for _, f := range fields {
		kind, reason, slash := strings.Cut(f, "/")
		if kindNote(rule.DecisionKind(kind)) != "" || slash && (reason == "" || reasonNote(rule.Reason(reason)) != "") {
			return ""
		}
	}
	return fmt.Sprintf("it names %d decisions, each an entry of its own: %s", len(fields), strings.Join(quoted(fields), ", "))
}

// quoted is each of ss in Go's quotes.
func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// nearest returns the name of names, all in lower case, that s most
// likely misspells ([editdist.Nearest]), case aside: the name s is in
// other capitals, or the one nearest to s in lower case.
func nearest(s string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return n
		}
	}
	return editdist.Nearest(strings.ToLower(s), slices.Values(names))
}
