package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// funnelWords says in plain words what a funnel that sent nothing means
// for the follow-up rec over window w at now, from what the page knows:
// the definition, the decisions of the window by kind (kinds), the state
// now and the last update (the page keeps no earlier state, so it says
// what it cannot tell rather than guess). kept is the first hour of
// tallies the store keeps: of the window's hours before, it says nothing.
// It says nothing of a funnel that sent.
func funnelWords(steps []funnelStep, kinds []kindSeries, rec store.CampaignRecord, w window, now, kept time.Time, loc *time.Location) []string {
	if len(steps) < 3 || steps[2].Count > 0 {
		return nil
	}
	triggered, scheduled := steps[0].Count, steps[1].Count
	since, until := w.bounds(now)
	span := spanNouns(w)
	if w.calendar && until.After(now) {
		span.all += " so far" // today
	}
	if since.Before(kept) {
		span.in += fmt.Sprintf(", in the hours the store keeps (from %s)", formatTime(kept, loc))
	}
	c := &rec.Campaign
	var out []string
	trig := make([]string, len(c.Triggers))
	for i, t := range c.Triggers {
		trig[i] = triggerAction(t)
	}
	switch dup := kindTotal(kinds, rule.Duplicate); {
	case triggered == 0 && dup > 0:
		were, them := "were ignored as duplicates", "they were new events, your host gave them IDs"
		if dup == 1 {
			were, them = "was ignored as a duplicate", "it was a new event, your host gave it an ID"
		}
		out = append(out, fmt.Sprintf("Nothing triggered it %s: the %s that matched its triggers (the user %s) had the ID of an event the engines had taken before, and %s. If %s it had used before.",
			span.in, plural(dup, "event"), strings.Join(trig, ", or "), were, them))
	case triggered == 0:
		out = append(out, fmt.Sprintf("Nothing triggered it %s: no event the engines took matched its triggers (the user %s).",
			span.in, strings.Join(trig, ", or ")))
		if ids := triggerCampaigns(c); len(ids) > 0 {
			out = append(out, fmt.Sprintf("Was %s sent %s, and did your host track its events? Nothing triggers this follow-up without them; the health page counts the events the engines ignored, those naming a campaign that does not exist among them.",
				strings.Join(ids, " or "), span.in))
		}
	case scheduled == 0:
		out = append(out, "Every trigger was suppressed on arrival, for the reasons beside Triggered: nothing was scheduled.")
	default:
		out = append(out, fmt.Sprintf("Nothing was sent %s.", span.in))
		if n := kindTotal(kinds, rule.HeldOut); n > 0 {
			held := fmt.Sprintf("%d deliveries were held out", n)
			if n == 1 {
				held = "1 delivery was held out"
			}
			switch c.ControlPercent {
			case 100:
				out = append(out, fmt.Sprintf("%s in its control group: its definition holds out every user (100%%), so it sends to no one; those held out count as having received it.", held))
			case 0:
				out = append(out, fmt.Sprintf("%s in its control group, as its definition said when they were scheduled (it holds out no user now): nothing is sent to them, and they count as having received it.", held))
			default:
				out = append(out, fmt.Sprintf("%s in its control group (its definition holds out %d%% of users): nothing is sent to them, and they count as having received it.", held, c.ControlPercent))
			}
		}
		if c.Delay != rule.Immediately() {
			out = append(out, fmt.Sprintf("It does not send at once (its definition says: send %s), so what was scheduled %s may fall due later.", delayWords(c.Delay), span.in))
		}
		if n := kindTotal(kinds, rule.Deferred); n > 0 {
			times := plural(n, "time")
			if n == 1 {
				times = "once"
			}
			out = append(out, fmt.Sprintf("Deliveries that came due %s were moved later %s, to keep to a send window, quiet hours or a rate limit (Deferred, in its decisions): they go out when those allow.", span.in, times))
		}
		if len(steps[1].Lost) > 0 {
			out = append(out, "What was scheduled and not sent fell out as listed beside Scheduled.")
		}
	}
	// What the state says first when it alone explains the funnel: it
	// did not exist, or was not active, all through the window.
	state, decisive := stateWords(rec, since, until, span, loc)
	if decisive {
		return append([]string{state}, out...)
	}
	return append(out, state)
}

// kindTotal is how many decisions of kind k kinds count.
func kindTotal(kinds []kindSeries, k rule.DecisionKind) int64 {
	for _, ks := range kinds {
		if ks.Kind == k {
			return ks.Series.Total()
		}
	}
	return 0
}

// nouns name a window in the sentences of funnelWords.
type nouns struct{ in, all, during, after string }

func spanNouns(w window) nouns {
	if w.calendar {
		return nouns{"on " + w.Label, "all day", "during this day", "after this day"}
	}
	return nouns{"in the " + w.Label, "throughout the " + w.Label, "during the " + w.Label, "after the " + w.Label}
}

// triggerCampaigns lists, quoted, the campaigns whose events trigger c.
func triggerCampaigns(c *rule.Campaign) []string {
	var out []string
	for _, t := range c.Triggers {
		if q := fmt.Sprintf("%q", t.CampaignID); t.CampaignID != "" && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// stateWords says what the page knows of rec's state over [since, until):
// its creation after the window, or during it, and its state since when
// it has not changed since; its state throughout when its last update
// came before the window; otherwise that it cannot tell. decisive is true
// when the state alone explains an empty funnel: the follow-up did not
// exist, or was not active, throughout the window.
func stateWords(rec store.CampaignRecord, since, until time.Time, span nouns, loc *time.Location) (words string, decisive bool) {
	state := string(rec.State)
	if rec.State == rule.Draft {
		state = "a draft"
	}
	switch {
	case !rec.CreatedAt.IsZero() && !rec.CreatedAt.Before(until):
		return fmt.Sprintf("It did not exist yet: it was created at %s.", formatTime(rec.CreatedAt, loc)), true
	case !rec.CreatedAt.IsZero() && !rec.CreatedAt.Before(since):
		created := fmt.Sprintf("It was created at %s, %s: it triggered on nothing before then.", formatTime(rec.CreatedAt, loc), span.during)
		if rec.UpdatedAt.After(rec.CreatedAt) {
			return fmt.Sprintf("%s It is %s now, and was last updated at %s: the page keeps no earlier state, so it cannot say whether it was active between the two.",
				created, state, formatTime(rec.UpdatedAt, loc)), false
		}
		s := fmt.Sprintf("%s It is %s now and has not changed since.", created, state)
		if rec.State != rule.Active {
			s += " A follow-up that is not active triggers on nothing."
		}
		return s, rec.State != rule.Active
	case rec.UpdatedAt.IsZero():
		return fmt.Sprintf("It is %s now.", state), false
	case !rec.UpdatedAt.After(since):
		s := fmt.Sprintf("It was %s %s: it has not changed since its last update, at %s.", state, span.all, formatTime(rec.UpdatedAt, loc))
		if rec.State != rule.Active {
			s += " A follow-up that is not active triggers on nothing."
		}
		return s, rec.State != rule.Active
	case rec.UpdatedAt.Before(until):
		return fmt.Sprintf("It is %s now, and was last updated at %s, %s: the page keeps no earlier state, so it cannot say whether it was active before then.",
			state, formatTime(rec.UpdatedAt, loc), span.during), false
	}
	return fmt.Sprintf("It is %s now, and was last updated at %s, %s: the page keeps no earlier state, so it cannot say whether it was active then.",
		state, formatTime(rec.UpdatedAt, loc), span.after), false
}
