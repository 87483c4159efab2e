package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
)

// rulesInWords describes what makes a follow-up due, when and what stops
// it, one sentence per line, with its start and end in loc; an original
// has a single line.
func rulesInWords(c *rule.Campaign, loc *time.Location) []string {
	if !c.IsFollowUp() {
		return []string{"An original: the host sends it; follow-ups can name it."}
	}
	var out []string
	trig := make([]string, len(c.Triggers))
	for i, t := range c.Triggers {
		trig[i] = triggerAction(t)
	}
	out = append(out, "When the user "+strings.Join(trig, ", or ")+": send "+delayWords(c.Delay)+".")
	if len(c.Exceptions) > 0 {
		exc := make([]string, len(c.Exceptions))
		for i, x := range c.Exceptions {
			exc[i] = exceptionAction(x)
		}
		out = append(out, "Cancelled if, while the delivery waits, the user "+strings.Join(exc, ", or ")+".")
	}
	out = append(out, pendingPolicyWords(c.PendingPolicy))
	out = append(out, upper(reeligibilityWords(c.Reeligibility))+".")
	if c.ControlPercent > 0 {
		out = append(out, fmt.Sprintf("%d %% of the triggered users are held out as a control group.", c.ControlPercent))
	}
	for _, cv := range c.Conversions {
		m := rule.Trigger{Kind: cv.Kind, CampaignID: cv.CampaignID, Target: cv.Target, Name: cv.Name, Where: cv.Where}
		out = append(out, fmt.Sprintf("Converts (%s) when the user %s within %s of receiving it.",
			cv.ID, triggerAction(m), durationWords(cv.Window())))
	}
	if c.Audience != "" {
		s := fmt.Sprintf("Only for the audience %q", c.Audience)
		if c.RecheckAudience {
			s += ", checked again when due"
		}
		out = append(out, s+".")
	}
	if c.SendWindow != nil {
		out = append(out, "Sent "+c.SendWindow.String()+".")
	}
	if c.RateLimit > 0 {
		out = append(out, fmt.Sprintf("At most %s sent per minute; the rest wait for the next minute.", thousands(int64(c.RateLimit))))
	}
	if c.IgnoreFrequencyCaps {
		out = append(out, "Exempt from the frequency caps: neither capped nor counted.")
	}
	if !c.Start.IsZero() || !c.End.IsZero() {
		out = append(out, "Runs "+spanWords(c.Start, c.End, loc)+".")
	}
	return out
}

// delayWords says a delay with readable durations: "after 7 days".
func delayWords(d rule.Delay) string {
	s := d.String()
	if rest, ok := strings.CutPrefix(s, "after "); ok {
		if dur, err := time.ParseDuration(rest); err == nil {
			return "after " + durationWords(dur)
		}
	}
	return s
}

// pendingPolicyWords says what a trigger does while the user already waits
// for the follow-up, as the manager chose it or by default.
func pendingPolicyWords(p rule.PendingPolicy) string {
	switch p {
	case rule.KeepFirst:
		return "A trigger while the user already waits changes nothing."
	case rule.ReplaceWithLatest:
		return "A later trigger while the user waits replaces the waiting delivery."
	case rule.AllowParallel:
		return "Every trigger schedules its own delivery, even while the user waits."
	}
	return fmt.Sprintf("While the user waits, a trigger follows the policy %q.", string(p))
}

func reeligibilityWords(r rule.Reeligibility) string {
	if w, ok := r.Window(); ok {
		return "re-eligible " + durationWords(w) + " after receiving it"
	}
	return "once only per user"
}

func spanWords(start, end time.Time, loc *time.Location) string {
	switch {
	case start.IsZero():
		return "until " + formatTime(end, loc)
	case end.IsZero():
		return "from " + formatTime(start, loc)
	}
	return "from " + formatTime(start, loc) + " until " + formatTime(end, loc)
}

// durationWords says d in the largest whole units that fit: "7 days",
// "1 day 12 hours", "90 minutes" stays "1 hour 30 minutes".
func durationWords(d time.Duration) string {
	if d <= 0 {
		return "no time"
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 && len(parts) < 2 {
			parts = append(parts, plural(int64(n), u.name))
			d -= n * u.size
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// kindWords names a kind of decision in the words of the funnel and the
// campaigns page: "delivered" is "Sent", "held_out" is "Held out".
func kindWords(k rule.DecisionKind) string {
	switch k {
	case rule.Delivered:
		return "Sent"
	case rule.Retried:
		return "Retried (a send failed, tried again)"
	case rule.Deferred:
		return "Deferred (sent later)"
	case rule.Ignored:
		return "Ignored (event not used)"
	case rule.Duplicate:
		return "Duplicate event"
	}
	return upper(strings.ReplaceAll(string(k), "_", " "))
}

// decisionWords says what one decision of a user's timeline means, with
// the times of its detail in loc; a is the campaign's actions, which say
// its triggers and exceptions.
func decisionWords(d rule.Decision, loc *time.Location, a actions) string {
	var s string
	switch d.Kind {
	case rule.Scheduled:
		s = "scheduled"
		if w, ok := a[d.Rule]; ok {
			s += " when the user " + w
		} else if d.Rule != "" {
			s += " by the trigger " + d.Rule
		}
	case rule.Cancelled:
		s = "cancelled: " + reasonWords(d.Reason)
		if d.Reason == rule.ReasonException && d.Rule != "" { // as the cancellations' breakdown says it
			s = "cancelled: " + exceptionWords(d.Rule, a)
		}
	case rule.Delivered:
		s = "sent"
	case rule.Retried:
		s = "send failed, will retry"
		if d.Reason == rule.ReasonDirectoryError {
			s = "held back, will retry"
		}
	case rule.Failed:
		s = "send failed for good"
		if d.Reason == rule.ReasonDirectoryError {
			s = "failed for good"
		}
	case rule.Suppressed:
		s = "suppressed: " + reasonWords(d.Reason)
		if d.DeliveryID != "" { // a scheduled delivery's, when it came due
			s = "dropped when due: " + reasonWords(d.Reason)
		}
	case rule.HeldOut:
		s = "held out in the control group (nothing sent, counts as received)"
	case rule.Converted:
		s = "converted"
		if d.Rule != "" {
			s += " (" + d.Rule + ")"
		}
		if d.Reason == rule.ReasonControlGroup { // the detail says when the user was held out
			s += ", without the message"
		}
	default:
		s = string(d.Kind)
		if d.Reason != "" {
			s += ": " + reasonWords(d.Reason)
		}
	}
	if d.Reason != "" && (d.Kind == rule.Failed || d.Kind == rule.Retried) {
		s += ": " + reasonWords(d.Reason)
	}
	if d.Detail != "" {
		s += " — " + detailWords(d.Detail, loc)
	}
	if d.Backfilled {
		s += " [backfill]"
	}
	return s
}

// statLabels name, by their Go field names, the store's and the engine's
// figures that fieldWords would name too shortly for the health page:
// "Pending" of what, and "Unheard" is the engine's term. The page keeps
// the field's name in the label's title, for the engineer.
var statLabels = map[string]string{
	"Pending": "Pending deliveries",
	"Unheard": "Used by no follow-up",
}
