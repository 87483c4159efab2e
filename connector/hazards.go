package connector

import (
	"fmt"
	"slices"
	"strings"
	"time"

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
		warn(rule.ReasonChannelMismatch, fmt.Sprintf("%s is an interaction on %s, but campaign %q is sent on %s: it can never happen",
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

// warningsFor is the snapshot's warnings about campaign id with those that
// depend on the engine's options: a send window inside quiet hours.
func (e *Engine) warningsFor(s *snapshot, id string, now, since time.Time) []Warning {
	out := s.warningsFor(id, now, since)
	if c := s.campaign(id); c != nil && c.State != rule.Archived {
		if w := e.windowInQuietHours(&c.Campaign); w != nil {
			out = append(out, *w)
		}
		if w := e.uncapped(&c.Campaign); w != nil {
			out = append(out, *w)
		}
	}
	return out
}

// uncapped warns when follow-up c sets no channel while the engine has
// frequency caps and each counts one channel: none of them counts or
// limits c's deliveries, most often a Channel forgotten in a follow-up
// added later. A follow-up that ignores the caps says it means it.
func (e *Engine) uncapped(c *rule.Campaign) *Warning {
	if !c.IsFollowUp() || c.Channel != "" || c.IgnoreFrequencyCaps || len(e.cfg.caps) == 0 || e.capsApply(c) {
		return nil
	}
	channels := make([]string, 0, len(e.cfg.caps))
	for _, cap := range e.cfg.caps {
		if ch := string(cap.Channel); !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	return &Warning{CampaignID: c.ID, Reason: rule.ReasonNoChannel, Detail: fmt.Sprintf(
		"the follow-up sets no channel, and each frequency cap counts one channel (%s): none counts or limits its deliveries; set its channel, or ignore_frequency_caps if it is meant to go uncapped",
		strings.Join(channels, ", "))}
}

// windowInQuietHours warns when every minute of c's send window falls in
// the engine's quiet hours: each delivery is then held back by one or the
// other (deferred between them until the maximum deferral, or dropped)
// and none is ever sent. Both are read on the user's wall clock, so the
// comparison holds in every zone.
func (e *Engine) windowInQuietHours(c *rule.Campaign) *Warning {
	q, w := e.cfg.quiet, c.SendWindow
	if q == nil || w == nil {
		return nil
	}
	within := func(from, to rule.TimeOfDay, m rule.TimeOfDay) bool {
		switch {
		case from == to:
			return true
		case from < to:
			return m >= from && m < to
		}
		return m >= from || m < to
	}
	for m := rule.TimeOfDay(0); m < 24*60; m++ {
		if within(w.From, w.To, m) && !within(q.From, q.To, m) {
			return nil
		}
	}
	return &Warning{CampaignID: c.ID, Reason: rule.ReasonQuietHours, Detail: fmt.Sprintf(
		"the send window %s lies inside the quiet hours %s–%s: no delivery of it can ever be sent",
		w, q.From, q.To)}
}
