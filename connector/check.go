package connector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// Warning is a hazard in the campaign definitions: nothing is wrong enough
// to refuse, but a follow-up will not behave as its author likely expects.
type Warning struct {
	CampaignID string      // the campaign the warning is about; "" for overdue deliveries
	Reason     rule.Reason // one of the warning reasons of [rule.Reason]
	Detail     string      // what, in words
}

// Former names of warning reasons, which rule defines with every other
// reason.
const (
	// ReasonUnknownReference is [rule.ReasonUnknownCampaign].
	//
	// Deprecated: use rule.ReasonUnknownCampaign.
	ReasonUnknownReference = rule.ReasonUnknownCampaign
	// ReasonArchivedReference is [rule.ReasonArchivedCampaign].
	//
	// Deprecated: use rule.ReasonArchivedCampaign.
	ReasonArchivedReference = rule.ReasonArchivedCampaign
	// ReasonCycle is [rule.ReasonCycle].
	//
	// Deprecated: use rule.ReasonCycle.
	ReasonCycle = rule.ReasonCycle
	// ReasonExceptionNeverWhileWaiting is
	// [rule.ReasonExceptionNeverWhileWaiting].
	//
	// Deprecated: use rule.ReasonExceptionNeverWhileWaiting.
	ReasonExceptionNeverWhileWaiting = rule.ReasonExceptionNeverWhileWaiting
	// ReasonChannelMismatch is [rule.ReasonChannelMismatch].
	//
	// Deprecated: use rule.ReasonChannelMismatch.
	ReasonChannelMismatch = rule.ReasonChannelMismatch
	// ReasonOverdueDeliveries is [rule.ReasonOverdueDeliveries].
	//
	// Deprecated: use rule.ReasonOverdueDeliveries.
	ReasonOverdueDeliveries = rule.ReasonOverdueDeliveries
)

// String renders the warning on one line.
func (w Warning) String() string { return fmt.Sprintf("%s: %s: %s", w.CampaignID, w.Reason, w.Detail) }

// Check returns the hazards of the namespace's campaign definitions: an
// original active while a follow-up that targets it is a draft, an active
// follow-up whose original is a draft or stopped
// ([rule.ReasonOriginalNotActive]), a delay that can never fit in a
// follow-up's duration, triggers or exceptions on archived or unknown
// campaigns, interactions of a channel their campaign is not sent on
// ([rule.ReasonChannelMismatch]), cycles of follow-ups, exceptions that
// can never happen while a user waits, and send windows that lie inside
// the engine's quiet hours ([rule.ReasonQuietHours]), follow-ups with no
// channel that the engine's frequency caps, each on one channel, do not
// cover ([rule.ReasonNoChannel]); and, concerning no
// campaign, deliveries overdue by more than a minute: nothing sends them
// ([rule.ReasonOverdueDeliveries]). Archived campaigns are not checked.
// Warnings come sorted by campaign.
func (e *Engine) Check(ctx context.Context) ([]Warning, error) {
	if ctx == nil {
		return nil, errNilContext("Check")
	}
	snap, err := e.current(ctx)
	if err != nil {
		return nil, fmt.Errorf("connector: check: %w", err)
	}
	now := e.cfg.clock.Now()
	var out []Warning
	for _, id := range snap.ids() {
		out = append(out, e.warningsFor(snap, id, now, time.Time{})...)
		out = append(out, snap.inactiveOriginals(id)...)
	}
	out = append(out, snap.cycles()...)
	w, err := e.overdue(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("connector: check: %w", err)
	}
	if w != nil {
		out = append(out, *w)
	}
	slices.SortStableFunc(out, func(a, b Warning) int { return strings.Compare(a.CampaignID, b.CampaignID) })
	return slices.CompactFunc(out, func(a, b Warning) bool { return a == b }), nil
}

// ids returns the campaign IDs in order.
func (s *snapshot) ids() []string {
	ids := make([]string, 0, s.campaigns.len())
	for id := range s.campaigns.all() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// warningsFor returns the hazards that involve campaign id: as an original
// (active while a follow-up of it is a draft) and as a follow-up (its own
// definition). since, when not zero, is the start of a backfill that
// replays id's earlier triggers.
func (s *snapshot) warningsFor(id string, now, since time.Time) []Warning {
	c := s.campaign(id)
	if c == nil || c.State == rule.Archived {
		return nil
	}
	var out []Warning
	warn := func(campaignID string, reason rule.Reason, format string, args ...any) {
		out = append(out, Warning{CampaignID: campaignID, Reason: reason, Detail: fmt.Sprintf(format, args...)})
	}
	if c.State == rule.Active {
		followUps, _ := s.followUps.get(id)
		for fid := range followUps.all() {
			if s.campaign(fid).State == rule.Draft {
				warn(fid, rule.ReasonDraftFollowUp,
					"original %q is active while follow-up %q is a draft: its interactions are lost for the follow-up until it is published", id, fid)
			}
		}
	}
	def := &c.Campaign
	if detail := delayNeverFits(def, s.earliestTrigger(now, since), s.loc, s.oneZone); detail != "" {
		warn(id, rule.ReasonDelayExceedsDuration, "%s", detail)
	}
	refs := func(what, ref string) {
		switch r := s.campaign(ref); {
		case ref == "":
		case r == nil:
			warn(id, rule.ReasonUnknownCampaign, "%s names campaign %q, which does not exist", what, ref)
		case r.State == rule.Archived:
			warn(id, rule.ReasonArchivedCampaign, "%s names campaign %q, which is archived", what, ref)
		}
	}
	for i, t := range def.Triggers {
		refs(fmt.Sprintf("trigger %d (%s)", i, t), t.CampaignID)
	}
	for i, x := range def.Exceptions {
		refs(fmt.Sprintf("exception %d (%s)", i, x), x.CampaignID)
		if x.CampaignID == id {
			warn(id, rule.ReasonExceptionNeverWhileWaiting,
				"exception %d (%s) is an interaction with this follow-up, which a user cannot have before receiving it", i, x)
		}
	}
	for _, cv := range def.Conversions {
		if cv.CampaignID != "" && s.campaign(cv.CampaignID) == nil {
			warn(id, rule.ReasonUnknownCampaign, "conversion %q names campaign %q, which does not exist", cv.ID, cv.CampaignID)
		}
	}
	s.channelMismatches(c, func(reason rule.Reason, detail string) { warn(id, reason, "%s", detail) })
	return out
}

// loopShown is how many campaigns of a cycle a warning's detail shows:
// each campaign on the cycle gets a warning of its own, so showing the
// whole cycle in each would make Check's answer grow with its square.
const loopShown = 10

// loopText shows the cycle path, back to its first campaign: "a → b → a",
// or, beyond loopShown campaigns, the first loopShown and how many more:
// "c01 → c02 → … → c10 → … 5 more → c01".
func loopText(path []string) string {
	if len(path) <= loopShown {
		return strings.Join(append(slices.Clone(path), path[0]), " → ")
	}
	return fmt.Sprintf("%s → … %d more → %s", strings.Join(path[:loopShown], " → "), len(path)-loopShown, path[0])
}

// cycles reports follow-ups that trigger on each other in a cycle: one
// warning per campaign on a cycle, naming the cycle.
func (s *snapshot) cycles() []Warning {
	next := func(id string) []string { // the follow-ups triggered by interactions with id
		followUps, _ := s.followUps.get(id)
		var out []string
		for fid := range followUps.all() {
			if s.campaign(fid).State != rule.Archived {
				out = append(out, fid)
			}
		}
		return out
	}
	var out []Warning
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string)
	visit = func(id string) {
		state[id] = onPath
		path = append(path, id)
		for _, n := range next(id) {
			switch state[n] {
			case onPath:
				start := slices.Index(path, n)
				detail := "follow-ups trigger on each other: " + loopText(path[start:])
				for _, member := range path[start:] {
					out = append(out, Warning{CampaignID: member, Reason: rule.ReasonCycle, Detail: detail})
				}
			case unvisited:
				visit(n)
			}
		}
		path = path[:len(path)-1]
		state[id] = done
	}
	for _, id := range s.ids() {
		if state[id] == unvisited && s.campaign(id).State != rule.Archived {
			visit(id)
		}
	}
	return out
}
