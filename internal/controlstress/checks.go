package controlstress

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// check checks the run's sends against the controls, and the decisions,
// the decision log and the tallies against the sends.
func (w *world) check() {
	t := w.t
	t.Helper()
	camps := map[string]rule.Campaign{}
	for _, c := range campaigns() {
		camps[c.ID] = c
	}
	calls := w.calls
	// Each delivery ID is one delivery: one user and follow-up. A
	// delivery sent again after its lease ran out during its send is one
	// delivery for the caps.
	type first struct {
		user, campaign string
	}
	ids := map[string]first{}
	for _, c := range calls {
		f := first{c.d.UserID, c.d.CampaignID}
		if g, ok := ids[c.d.ID]; ok && g != f {
			t.Errorf("delivery %s sent to %v and to %v", c.d.ID, g, f)
		}
		ids[c.d.ID] = f
	}

	// Quiet hours, the send window and the control group (the stop and
	// the resume: checkResume).
	for _, c := range calls {
		if quietAt(c.at) {
			t.Errorf("%s sent at %s, inside quiet hours", c.d.ID, c.at.Format(time.TimeOnly))
		}
		if c.d.CampaignID == "fb" && !window.Contains(c.at, time.UTC) {
			t.Errorf("%s of fb sent at %s, outside its send window", c.d.ID, c.at.Format(time.TimeOnly))
		}
		if c.d.CampaignID == "fd" && rule.ControlBucket(c.d.UserID, "fd") < 40 {
			t.Errorf("%s of fd sent to %s, a control-group member", c.d.ID, c.d.UserID)
		}
	}

	// Rate limits: attempts per follow-up per calendar minute.
	perMinute := map[string]int{}
	for _, c := range calls {
		if lim := camps[c.d.CampaignID].RateLimit; lim > 0 {
			k := c.d.CampaignID + "@" + c.at.Truncate(time.Minute).Format(time.TimeOnly)
			if perMinute[k]++; perMinute[k] == lim+1 {
				t.Errorf("rate limit of %s (%d a minute) exceeded in the minute of %s", c.d.CampaignID, lim, k)
			}
		}
	}

	// Frequency caps: the deliveries the sender accepted, once each, at
	// the time of their first accepted send.
	type sent struct {
		at      time.Time
		channel string
	}
	byUser := map[string][]sent{}
	seen := map[string]bool{}
	for _, c := range calls {
		if c.err != nil || seen[c.d.ID] || camps[c.d.CampaignID].IgnoreFrequencyCaps {
			continue
		}
		seen[c.d.ID] = true
		byUser[c.d.UserID] = append(byUser[c.d.UserID], sent{c.at, string(c.d.Channel)})
	}
	for u, ss := range byUser {
		slices.SortFunc(ss, func(a, b sent) int { return a.at.Compare(b.at) })
		for i := rolling.Max; i < len(ss); i++ {
			if ss[i].at.Sub(ss[i-rolling.Max].at) < rolling.Window {
				t.Errorf("user %s got %d deliveries within %v: at %s and %s", u, rolling.Max+1, rolling.Window,
					ss[i-rolling.Max].at.Format(time.TimeOnly), ss[i].at.Format(time.TimeOnly))
			}
		}
		push := 0
		for _, s := range ss {
			if s.channel == string(pushDay.Channel) {
				push++
			}
		}
		if push > pushDay.Max {
			t.Errorf("user %s got %d pushes in a day", u, push)
		}
	}

	// Every send has exactly one outcome, delivered when the sender
	// accepted it; every delivered decision is a send the sender accepted.
	type attempt struct {
		id string
		n  int
	}
	outcomes := map[attempt][]rule.Decision{}
	for _, d := range w.decs {
		switch d.Kind {
		case rule.Delivered, rule.Failed, rule.Retried:
		case rule.Cancelled:
			if d.Attempt == 0 {
				continue // cancelled before any send
			}
		default:
			continue
		}
		if d.Kind == rule.Failed && d.Reason != rule.ReasonSendError || d.Kind == rule.Retried && d.Reason != rule.ReasonSendError {
			continue
		}
		a := attempt{d.DeliveryID, d.Attempt}
		outcomes[a] = append(outcomes[a], d)
	}
	called := map[attempt]bool{}
	for _, c := range calls {
		a := attempt{c.d.ID, c.d.Attempt}
		called[a] = true
		got := outcomes[a]
		if len(got) != 1 {
			t.Errorf("send %s of %s attempt %d at %s (engine %d, err %v) has %d outcomes: %v; its decisions: %s",
				c.d.ID, c.d.CampaignID, c.d.Attempt, c.at.Format(time.TimeOnly), c.engine, c.err, len(got), got, w.story(c.d.ID))
			continue
		}
		if (got[0].Kind == rule.Delivered) != (c.err == nil) {
			t.Errorf("send %s attempt %d (err %v) recorded as %s", c.d.ID, c.d.Attempt, c.err, got[0].Kind)
		}
	}
	for a, ds := range outcomes {
		if !called[a] {
			t.Errorf("%s attempt %d has outcomes %v and was never sent", a.id, a.n, ds)
		}
	}

	// Deferrals have the reasons of the controls that defer.
	deferred := 0
	for _, d := range w.decs {
		if d.Kind != rule.Deferred {
			continue
		}
		deferred++
		switch d.Reason {
		case rule.ReasonQuietHours, rule.ReasonOutsideSendWindow, rule.ReasonRateLimited:
		default:
			t.Errorf("deferral with reason %q: %v", d.Reason, d)
		}
	}

	// The decision log holds what the observers saw.
	ctx := context.Background()
	e := w.runners[0].e
	type key struct {
		kind rule.DecisionKind
		id   string
		n    int
		at   time.Time
	}
	observed := map[key]int{}
	for _, d := range w.decs {
		if d.DeliveryID != "" {
			observed[key{d.Kind, d.DeliveryID, d.Attempt, d.At}]++
		}
	}
	logged := map[key]int{}
	for u := range users + lateUsers {
		xs, err := e.ExplainUser(ctx, fmt.Sprint("u", u))
		must(t, err)
		for _, x := range xs {
			for _, d := range x.Decisions {
				if d.DeliveryID != "" {
					logged[key{d.Kind, d.DeliveryID, d.Attempt, d.At.UTC()}]++
				}
			}
		}
	}
	for k, n := range observed {
		if logged[k] != n {
			t.Errorf("decision %s of %s attempt %d at %s: observed %d times, logged %d%s", k.kind, k.id, k.n, k.at.Format(time.TimeOnly), n, logged[k], w.story(k.id))
		}
	}
	for k, n := range logged {
		if observed[k] == 0 {
			t.Errorf("decision %s of %s attempt %d at %s: logged %d times, never observed", k.kind, k.id, k.n, k.at.Format(time.TimeOnly), n)
		}
	}

	// The tallies count what the observers saw, once every engine has
	// flushed what it counted, as a host stopping does.
	for _, r := range w.runners {
		must(t, r.e.FlushTallies(ctx))
	}
	tallies, err := e.Tallies(ctx, store.TallyQuery{})
	must(t, err)
	type tk struct {
		campaign string
		kind     rule.DecisionKind
		reason   rule.Reason
	}
	counted := map[tk]int64{}
	for _, x := range tallies {
		switch x.Kind {
		case rule.Delivered, rule.Failed, rule.Retried, rule.Deferred, rule.HeldOut, rule.Converted:
			counted[tk{x.CampaignID, x.Kind, x.Reason}] += x.Count
		}
	}
	want := map[tk]int64{}
	for _, d := range w.decs {
		switch d.Kind {
		case rule.Delivered, rule.Failed, rule.Retried, rule.Deferred, rule.HeldOut, rule.Converted:
			want[tk{d.CampaignID, d.Kind, d.Reason}]++
		}
	}
	for k, n := range want {
		if counted[k] != n {
			t.Errorf("tallies: %v counted %d, observed %d", k, counted[k], n)
		}
	}
	for k, n := range counted {
		if want[k] == 0 {
			t.Errorf("tallies: %v counted %d, never observed", k, n)
		}
	}

	old, fresh, freshSent := w.checkResume()
	receipts, purchases, conversions := w.checkConversions(counted[tk{converting, rule.Converted, ""}], counted[tk{converting, rule.Converted, rule.ReasonControlGroup}])

	failed := 0
	for _, c := range calls {
		if c.err != nil {
			failed++
		}
	}
	again, stops := 0, 0
	for _, c := range calls {
		if c.err == nil && c.d.Attempt > 1 && outcomes[attempt{c.d.ID, c.d.Attempt - 1}] != nil &&
			outcomes[attempt{c.d.ID, c.d.Attempt - 1}][0].Kind == rule.Delivered {
			again++
		}
	}
	for _, d := range w.decs {
		if d.Kind == rule.Cancelled && d.Reason == rule.ReasonCampaignStopped {
			stops++
		}
	}
	t.Logf("seed %d: %d sends (%d failed, %d sent again after a lease ran out) of %d deliveries, %d deferrals, "+
		"%d cancelled by the stop, %d restarts, %d jumps past the lease; %s: %d deliveries before the resume, "+
		"%d after (%d delivered); %s: %d receipts, %d purchases, %d conversions",
		w.seed, len(calls), failed, again, len(ids), deferred, stops, w.restarts, w.jumps,
		stopped, old, fresh, freshSent, converting, receipts, purchases, conversions)
}

// quietAt reports whether t falls in quiet hours (UTC users).
func quietAt(t time.Time) bool {
	w := rule.SendWindow{From: quiet.From, To: quiet.To}
	return w.Contains(t, time.UTC)
}

// story tells the decisions and sends of delivery id, for a failure's
// message.
func (w *world) story(id string) string {
	var s string
	for _, d := range w.decs {
		if d.DeliveryID == id {
			s += fmt.Sprintf("\n\t%s %s %s attempt %d %q", d.At.Format(time.TimeOnly), d.Kind, d.Reason, d.Attempt, d.Detail)
		}
	}
	for _, c := range w.calls {
		if c.d.ID == id {
			s += fmt.Sprintf("\n\tsend #%d by engine %d at %s attempt %d: %v", c.seq, c.engine, c.at.Format(time.TimeOnly), c.d.Attempt, c.err)
		}
	}
	return s + fmt.Sprintf("\n\tstop #%d, %d jumps, %d restarts", w.stopSeq, w.jumps, w.restarts)
}
