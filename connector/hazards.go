package connector

import (
	"fmt"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// inactiveOriginals warns about the triggers of follow-up id, when it is
// active, on originals that are drafts, or stopped when stopped originals
// do not count: the follow-up gets nothing from them until they are
// published. (Archived originals have their own warning.) Only Check
// reports it: publishing follow-ups before their originals is the order
// that loses nothing, so Publish would warn at every start.
func (s *snapshot) inactiveOriginals(id string) []Warning {
	c := s.campaign(id)
	if c == nil || c.State != rule.Active {
		return nil
	}
	var out []Warning
	for i, t := range c.Campaign.Triggers {
		o := s.campaign(t.CampaignID)
		if o == nil || o.State == rule.Active || o.State == rule.Archived || (o.State == rule.Stopped && s.acceptStopped) {
			continue
		}
		out = append(out, Warning{CampaignID: id, Reason: rule.ReasonOriginalNotActive, Detail: fmt.Sprintf(
			"follow-up %q is active but the original %q of trigger %d (%s) is %s: the follow-up gets nothing from it until the original is published",
			id, o.Campaign.ID, i, t, o.State)})
	}
	return out
}

// channelMismatches warns about c's triggers, exceptions and conversions
// that select an interaction of a channel their campaign is not sent on.
func (s *snapshot) channelMismatches(c *campaign, warn func(rule.Reason, string)) {
	check := func(what string, k event.Kind, ref string) {
		o := s.campaign(ref)
		if o == nil || o.Campaign.Channel == "" || k.Channel() == "" || k.Channel() == o.Campaign.Channel {
			return
		}
		warn(rule.ReasonChannelMismatch, fmt.Sprintf("%s is a %s interaction, but campaign %q is sent on %s: it can never happen",
			what, k.Channel(), ref, o.Campaign.Channel))
	}
	def := &c.Campaign
	for i, t := range def.Triggers {
		check(fmt.Sprintf("trigger %d (%s)", i, t), t.Kind, t.CampaignID)
	}
	for i, x := range def.Exceptions {
		check(fmt.Sprintf("exception %d (%s)", i, x), x.Kind, x.CampaignID)
	}
	for _, cv := range def.Conversions {
		check(fmt.Sprintf("conversion %q", cv.ID), cv.Kind, cv.CampaignID)
	}
}
