package simulate_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
)

// The scenario generator of TestReplayMatchesTickedEngine: campaigns, a
// log and the engine's options drawn from a seed. Every time it draws is a
// whole minute (delays, event times, quiet hours, send windows, caps), so
// an engine ticked once a minute sees each due time exactly as the
// simulator, which stops at due times, does.

// diffScenario is one generated scenario.
type diffScenario struct {
	Seed  uint64
	Setup simulate.Setup
	Log   []simulate.Line
	Until time.Time
	// FailPct is the share of send attempts the sender refuses, chosen
	// by a hash of the delivery and attempt.
	FailPct int
	// opts builds the engine's options (quiet hours, caps, a directory of
	// zones, a decision log); each engine gets its own.
	opts func() []connector.Option
	desc []string // the options in words, for a failure's message
}

var diffKinds = []event.Kind{
	event.EmailReceived, event.EmailOpened, event.EmailAliasClicked, event.PushOpened, event.PushReceived,
}

// diffGenerate builds the scenario of seed.
func diffGenerate(seed uint64) diffScenario {
	r := rand.New(rand.NewPCG(seed, 0x64696666))
	paris, _ := time.LoadLocation("Europe/Paris")
	newYork, _ := time.LoadLocation("America/New_York")
	// Around a change of daylight saving time in Paris (29 March, 25
	// October 2026) or in New York (8 March, 1 November), at any hour.
	days := []time.Time{
		time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC),
	}
	start := pickOne(r, days...).Add(time.Duration(r.IntN(24*60)) * time.Minute)
	sc := diffScenario{Seed: seed, Setup: simulate.Setup{Start: start, Location: "Europe/Paris"}}

	ids := []string{"o1", "o2"}
	camps := []rule.Campaign{{ID: "o1", Channel: event.Email}, {ID: "o2", Channel: event.Push}}
	var held []string // follow-ups with a control group
	for i := range 2 + r.IntN(3) {
		c := rule.Campaign{ID: fmt.Sprintf("f%d", i+1), Message: []byte(fmt.Sprintf(`{"f":%d}`, i+1))}
		c.Channel = pickOne(r, event.Email, event.Push)
		for range 1 + r.IntN(2) {
			c.Triggers = append(c.Triggers, diffTrigger(r, ids, held))
		}
		c.Delay = diffDelay(r)
		if !c.Delay.IsZero() {
			for range r.IntN(3) {
				t := diffTrigger(r, ids, nil)
				c.Exceptions = append(c.Exceptions, rule.Exception{Kind: t.Kind, CampaignID: t.CampaignID, Target: t.Target})
			}
		}
		if r.IntN(2) == 0 {
			c.Reeligibility = rule.ReeligibleAfter(time.Duration(r.IntN(3*24*60)) * time.Minute)
		}
		c.PendingPolicy = pickOne(r, rule.KeepFirst, rule.ReplaceWithLatest, rule.AllowParallel)
		if r.IntN(4) == 0 {
			c.Start = start.Add(time.Duration(r.IntN(48*60)) * time.Minute)
		}
		if r.IntN(4) == 0 {
			c.End = start.Add(time.Duration(48*60+r.IntN(5*24*60)) * time.Minute)
		}
		if r.IntN(4) == 0 {
			c.ControlPercent = 50
			held = append(held, c.ID)
		}
		if r.IntN(5) == 0 {
			c.SendWindow = &rule.SendWindow{From: rule.At(9, 0), To: rule.At(18, 30), NextAvailable: r.IntN(2) == 0}
		}
		if r.IntN(5) == 0 {
			c.RateLimit = 1
		}
		c.IgnoreFrequencyCaps = r.IntN(6) == 0
		camps = append(camps, c)
		ids = append(ids, c.ID)
	}
	sc.Setup.Campaigns = camps
	state := map[string]rule.State{}
	var matchers []rule.Trigger // what host events may match
	for _, c := range camps {
		state[c.ID] = rule.Draft
		if r.IntN(6) > 0 {
			sc.Setup.Publish = append(sc.Setup.Publish, c.ID)
			state[c.ID] = rule.Active
		}
		for _, t := range c.Triggers {
			if t.Kind != event.ControlGroupEnrolled {
				matchers = append(matchers, t)
			}
		}
		for _, x := range c.Exceptions {
			matchers = append(matchers, rule.Trigger{Kind: x.Kind, CampaignID: x.CampaignID, Target: x.Target})
		}
	}

	users := []string{"u1", "u2", "u3"}
	now := start
	var used []string
	for n := range 15 + r.IntN(35) {
		now = now.Add(time.Duration(r.IntN(6*60)) * time.Minute)
		if r.IntN(12) == 0 {
			sc.Log = append(sc.Log, diffOp(r, ids, state, now))
			continue
		}
		t := diffTrigger(r, ids, nil)
		if len(matchers) > 0 && r.IntN(3) > 0 {
			t = pickOne(r, matchers...)
		}
		ev := event.Event{ID: fmt.Sprintf("e%d", n), UserID: pickOne(r, users...), Kind: t.Kind, CampaignID: t.CampaignID, Time: now}
		if t.Target != "" || (ev.Kind.HasTarget() && r.IntN(2) == 0) {
			ev.Target = pickOne(r, "a", "b")
		}
		if len(used) > 0 && r.IntN(10) == 0 {
			ev.ID = pickOne(r, used...) // a duplicate, or the same ID from another user
		}
		used = append(used, ev.ID)
		line := simulate.Line{Time: now, Event: ev}
		switch r.IntN(20) {
		case 0, 1, 2: // backdated: it arrives now, stamped earlier
			line.Event.Time = now.Add(-time.Duration(1+r.IntN(2*24*60)) * time.Minute)
		case 3, 4: // out of order: stamped (and arriving) before the clock
			line.Event.Time = now.Add(-time.Duration(1+r.IntN(12*60)) * time.Minute)
			line.Time = line.Event.Time
		case 5: // no time: now
			line.Event.Time, line.Time = time.Time{}, time.Time{}
		}
		sc.Log = append(sc.Log, line)
	}
	sc.Until = now.Add(time.Duration(2+r.IntN(3)) * 24 * time.Hour)

	var opts []func() connector.Option
	if r.IntN(3) == 0 {
		q := connector.QuietHours{From: rule.At(21, 0), To: rule.At(8, 0), Defer: r.IntN(2) == 0}
		sc.desc = append(sc.desc, fmt.Sprintf("quiet hours %+v", q))
		opts = append(opts, func() connector.Option { return connector.WithQuietHours(q) })
	}
	if r.IntN(3) == 0 {
		fc := connector.FrequencyCap{Max: 1 + r.IntN(2), Channel: pickOne(r, event.Channel(""), event.Email)}
		if r.IntN(2) == 0 {
			fc.Days = 1
		} else {
			fc.Window = time.Duration(1+r.IntN(12)) * time.Hour
		}
		sc.desc = append(sc.desc, fmt.Sprintf("frequency cap %+v", fc))
		opts = append(opts, func() connector.Option { return connector.WithFrequencyCaps(fc) })
	}
	if r.IntN(2) == 0 {
		sc.desc = append(sc.desc, "u3 in New York")
		opts = append(opts, func() connector.Option {
			return connector.WithDirectory(connector.LocationFunc(func(_ context.Context, user string) (*time.Location, error) {
				if user == "u3" {
					return newYork, nil
				}
				return paris, nil
			}))
		})
	}
	if r.IntN(3) == 0 {
		sc.FailPct = pickOne(r, 20, 50, 80)
		sc.desc = append(sc.desc, fmt.Sprintf("%d %% of attempts refused", sc.FailPct))
	}
	sc.opts = func() []connector.Option {
		out := []connector.Option{
			connector.WithDecisionLog(10_000, 365*24*time.Hour),
			// Whole minutes, without jitter: retries fall on the minute.
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: time.Minute, Max: 4 * time.Minute}),
		}
		for _, o := range opts {
			out = append(out, o())
		}
		return out
	}
	return sc
}

// diffOp draws a lifecycle operation on one of ids at now, valid in the
// campaigns' states but for one in 30 (which stops the replay).
func diffOp(r *rand.Rand, ids []string, state map[string]rule.State, now time.Time) simulate.Line {
	id := pickOne(r, ids...)
	op := pickOne(r, "publish", "stop", "archive")
	if r.IntN(30) > 0 {
		switch st := state[id]; {
		case st == rule.Archived:
			op = ""
		case st == rule.Active:
			op = pickOne(r, "stop", "stop", "stop", "archive")
		default:
			op = pickOne(r, "publish", "publish", "publish", "archive")
		}
	}
	if op == "" {
		return simulate.Line{Op: "advance", Time: now}
	}
	state[id] = map[string]rule.State{"publish": rule.Active, "stop": rule.Stopped, "archive": rule.Archived}[op]
	return simulate.Line{Op: op, Campaign: id, Time: now}
}

// failure refuses the share FailPct of attempts, the same ones on every
// engine.
func (sc diffScenario) failure(d connector.Delivery) error {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d %s %d", sc.Seed, d.ID, d.Attempt)
	if int(h.Sum32()%100) < sc.FailPct {
		return errors.New("refused")
	}
	return nil
}

// replayFailing replays sc as [simulate.Replay] does (see its docs and
// diagnostics.md), on a simulator whose recorder refuses sc's failures.
func replayFailing(t *testing.T, sc diffScenario) (*simulate.Simulator, []error, error) {
	loc, err := time.LoadLocation(sc.Setup.Location)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulate.New(sc.Setup.Start, append([]connector.Option{connector.WithLocation(loc)}, sc.opts()...)...)
	if err != nil {
		return nil, nil, err
	}
	sim.Sender.Fail = sc.failure
	if err := sim.Save(sc.Setup.Campaigns...); err != nil {
		return nil, nil, err
	}
	if err := sim.Publish(sc.Setup.Publish...); err != nil {
		return nil, nil, err
	}
	var rejected []error
	for i, l := range sc.Log {
		if l.Time.After(sim.Now()) {
			if _, err := sim.AdvanceTo(l.Time); err != nil {
				return sim, rejected, &simulate.LineError{Line: i + 1, Err: err}
			}
		}
		switch l.Op {
		case "":
			err = sim.Track(l.Event)
			var ve *event.ValidationError
			if errors.As(err, &ve) {
				rejected = append(rejected, err)
				err = nil
			}
		case "publish":
			err = sim.Publish(l.Campaign)
		case "stop":
			err = sim.Engine.Stop(context.Background(), l.Campaign)
		case "archive":
			err = sim.Engine.Archive(context.Background(), l.Campaign)
		}
		if err != nil {
			return sim, rejected, &simulate.LineError{Line: i + 1, Err: err}
		}
	}
	_, err = sim.AdvanceTo(sc.Until)
	return sim, rejected, err
}

// diffTrigger draws a trigger on one of ids: an interaction, with or
// without a Target, or the control_group_enrolled of a follow-up in held
// (a chain the engine itself feeds).
func diffTrigger(r *rand.Rand, ids, held []string) rule.Trigger {
	for _, id := range held {
		if r.IntN(3) == 0 {
			return rule.Trigger{Kind: event.ControlGroupEnrolled, CampaignID: id}
		}
	}
	t := rule.Trigger{Kind: pickOne(r, diffKinds...), CampaignID: pickOne(r, ids...)}
	if t.Kind.HasTarget() && r.IntN(2) == 0 {
		t.Target = pickOne(r, "a", "b")
	}
	return t
}

// diffDelay draws a delay of any kind; calendar delays land on the hours
// daylight saving time skips or repeats too.
func diffDelay(r *rand.Rand) rule.Delay {
	hour := pickOne(r, 2, 2, 3, 9, 23, r.IntN(24))
	minute := pickOne(r, 0, 30, r.IntN(60))
	switch r.IntN(5) {
	case 0:
		return rule.Immediately()
	case 1, 2:
		return rule.After(time.Duration(1+r.IntN(3*24*60)) * time.Minute)
	case 3:
		return rule.NextWeekdayAt(time.Weekday(r.IntN(7)), hour, minute)
	default:
		return rule.InDaysAt(r.IntN(4), hour, minute)
	}
}

func pickOne[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }
