package connector_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The scenario generator of TestModel: generate builds a scenario (see
// model_scenario_test.go) from a seed.

// Kinds with a sub-selector (event.Event's Target).
var genTargetKinds = map[event.Kind]bool{
	event.InAppMessageButtonClicked: true, event.EmailAliasClicked: true,
	event.PushButtonClicked: true, event.PushStoryPageClicked: true, event.ConversionPerformed: true,
}

var genInteractions = []event.Kind{
	event.EmailReceived, event.EmailOpened, event.PushOpened, event.PushButtonClicked,
	event.InAppMessageButtonClicked, event.EmailAliasClicked, event.ControlGroupEnrolled,
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// generate builds the scenario of seed.
func generate(seed int64, restrict genRestrictions) scenario {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6d6f64656c))
	g := &generator{r: r, restrict: restrict, published: -1, state: map[string]rule.State{}}
	sc := scenario{Seed: seed, NoPrune: restrict.noPrune}
	// A Monday at midnight plus some days and hours: calendar delays land
	// on every weekday and time of day.
	sc.Start = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(r.IntN(7))*24*time.Hour + time.Duration(r.IntN(24))*time.Hour)
	g.start, g.now = sc.Start, sc.Start
	if r.IntN(2) == 0 {
		sc.FailPct = pick(r, 10, 30, 60)
	}
	for i := range 1 + r.IntN(4) {
		g.users = append(g.users, fmt.Sprintf("u%d", i+1))
	}
	var defs []genCampaign
	for i := range 1 + r.IntN(2) {
		defs = append(defs, genCampaign{ID: fmt.Sprintf("o%d", i+1), Message: fmt.Sprintf(`{"o":%d}`, i+1)})
	}
	for i := range 1 + r.IntN(4) {
		known := make([]string, len(defs))
		for j, d := range defs {
			known[j] = d.ID
		}
		defs = append(defs, g.followUp(fmt.Sprintf("f%d", i+1), known))
	}
	g.defs = defs
	for _, c := range defs {
		if len(c.Triggers) == 0 {
			g.originals = append(g.originals, c.ID)
		}
	}
	unsaved := append([]genCampaign(nil), defs...) // saved in order: references first
	n := 20 + r.IntN(60)
	setup := n / 4 // the first quarter mostly saves and publishes, in any order
	for len(sc.Ops) < n {
		// Weights in per cent: save a new campaign, publish, stop,
		// archive, edit, track; advance the clock otherwise.
		wt := [6]int{8, 6, 2, 1, 3, 55}
		if len(sc.Ops) < setup {
			wt = [6]int{35, 30, 2, 1, 2, 20}
		}
		w := r.IntN(100)
		below := func(k int) bool {
			sum := 0
			for _, x := range wt[:k+1] {
				sum += x
			}
			return w < sum
		}
		switch {
		case below(0) && len(unsaved) > 0:
			g.add(&sc, genOp{Kind: opSave, Camp: unsaved[0]})
			unsaved = unsaved[1:]
		case below(1) && g.target(rule.Draft, rule.Stopped) != "":
			g.add(&sc, genOp{Kind: opPublish, ID: g.target(rule.Draft, rule.Stopped)})
		case below(2) && g.stoppable(rule.Active) != "":
			g.add(&sc, genOp{Kind: opStop, ID: g.stoppable(rule.Active)})
		case below(3) && g.stoppable(rule.Draft, rule.Active, rule.Stopped) != "":
			g.add(&sc, genOp{Kind: opArchive, ID: g.stoppable(rule.Draft, rule.Active, rule.Stopped)})
		case below(4) && len(g.saved) > 0:
			g.add(&sc, genOp{Kind: opSave, Camp: g.edit()})
		case below(5):
			g.add(&sc, genOp{Kind: opTrack, Event: g.event(&sc)})
		default:
			g.add(&sc, genOp{Kind: opAdvance, Advance: g.advance()})
		}
	}
	// Flush: everything still pending falls due (or fails) before the end.
	for range 3 {
		g.add(&sc, genOp{Kind: opAdvance, Advance: 96 * time.Hour})
	}
	return sc
}

type generator struct {
	r           *rand.Rand
	restrict    genRestrictions
	start, now  time.Time
	users       []string
	defs        []genCampaign // initial definitions, originals first
	originals   []string
	saved       []genCampaign // current definitions of the saved campaigns
	state       map[string]rule.State
	tracked     []int       // ops that tracked an event
	eventTimes  []time.Time // their times (zero: the clock's)
	publishedAt []time.Time
	published   int // index of the last publish op, -1 if none
	nextID      int
}

func (g *generator) add(sc *scenario, op genOp) {
	switch op.Kind {
	case opAdvance:
		g.now = g.now.Add(op.Advance)
	case opTrack:
		g.tracked = append(g.tracked, len(sc.Ops))
		at := op.Event.Time
		if at.IsZero() {
			at = g.now
		}
		g.eventTimes = append(g.eventTimes, at)
	case opPublish:
		g.published = len(sc.Ops)
		g.publishedAt = append(g.publishedAt, g.now)
		g.transition(op.ID, rule.Active)
	case opStop:
		g.transition(op.ID, rule.Stopped)
	case opArchive:
		g.transition(op.ID, rule.Archived)
	case opSave:
		i := slices.IndexFunc(g.saved, func(c genCampaign) bool { return c.ID == op.Camp.ID })
		switch {
		case i < 0:
			g.saved = append(g.saved, op.Camp)
			g.state[op.Camp.ID] = rule.Draft
		case g.state[op.Camp.ID] != rule.Archived:
			g.saved[i] = op.Camp
		}
	}
	sc.Ops = append(sc.Ops, op)
}

func (g *generator) followUp(id string, known []string) genCampaign {
	r := g.r
	c := genCampaign{ID: id, Message: fmt.Sprintf(`{"%s":0}`, id), Once: r.IntN(5) < 2}
	for range 1 + r.IntN(2) {
		c.Triggers = append(c.Triggers, g.matcher(known))
	}
	c.Delay = g.delay()
	if c.Delay.Kind != "now" && r.IntN(5) < 3 {
		for range 1 + r.IntN(2) {
			if r.IntN(4) == 0 { // the same event as a trigger: send after the last repeat
				c.Exceptions = append(c.Exceptions, pick(r, c.Triggers...))
			} else {
				c.Exceptions = append(c.Exceptions, g.matcher(known))
			}
		}
	}
	if !c.Once {
		c.Window = pick(r, 0, 0, 30*time.Minute, 2*time.Hour, 24*time.Hour, 72*time.Hour)
	}
	if r.IntN(5) == 0 {
		c.Start = g.start.Add(pick(r, 0, time.Hour, 12*time.Hour, 48*time.Hour))
	}
	if r.IntN(4) == 0 {
		c.End = g.start.Add(pick(r, 6*time.Hour, 24*time.Hour, 72*time.Hour, 7*24*time.Hour))
		if !c.Start.IsZero() && !c.End.After(c.Start) {
			c.End = time.Time{}
		}
	}
	c.Policy = pick(r, rule.KeepFirst, rule.KeepFirst, rule.ReplaceWithLatest, rule.AllowParallel)
	g.restrictDelay(&c)
	return c
}

// restrictDelay applies noSameDayEnd to c.
func (g *generator) restrictDelay(c *genCampaign) {
	if g.restrict.noSameDayEnd && c.Delay.Kind == "days" && c.Delay.Days == 0 && !c.End.IsZero() {
		c.Delay.Days = 1
	}
}

func (g *generator) matcher(known []string) genMatcher {
	r := g.r
	switch w := r.IntN(10); {
	case w < 6:
		m := genMatcher{Kind: pick(r, genInteractions...), Campaign: pick(r, known...)}
		if genTargetKinds[m.Kind] && r.IntN(2) == 0 {
			m.Target = pick(r, "b1", "b2")
		}
		return m
	case w < 8:
		m := genMatcher{Kind: event.Purchase}
		if r.IntN(2) == 0 {
			m.Name = pick(r, "sku1", "sku2")
		}
		if r.IntN(2) == 0 {
			m.Cond = &genCond{Op: pick(r, rule.OpGreater, rule.OpGreaterOrEqual, rule.OpLess, rule.OpLessOrEqual, rule.OpEqual), Value: pick(r, 20, 42, 50, 80)}
		}
		return m
	default:
		m := genMatcher{Kind: event.CustomEvent, Name: pick(r, "visit", "signup")}
		if r.IntN(3) == 0 {
			m.Cond = &genCond{Op: pick(r, rule.OpGreater, rule.OpGreaterOrEqual, rule.OpLess, rule.OpLessOrEqual, rule.OpEqual), Value: pick(r, 20, 42, 50, 80)}
		}
		return m
	}
}

func (g *generator) delay() genDelay {
	r := g.r
	switch w := r.IntN(20); {
	case w < 5:
		return genDelay{Kind: "now"}
	case w < 12:
		return genDelay{Kind: "after", After: pick(r, time.Minute, 10*time.Minute, 30*time.Minute,
			time.Hour, 2*time.Hour, 6*time.Hour, 24*time.Hour, 72*time.Hour)}
	case w < 16:
		return genDelay{Kind: "days", Days: r.IntN(3), Hour: pick(r, 0, 9, 12, 18, 23), Minute: pick(r, 0, 30)}
	default:
		return genDelay{Kind: "weekday", Weekday: time.Weekday(r.IntN(7)), Hour: pick(r, 0, 9, 12, 18, 23), Minute: pick(r, 0, 30)}
	}
}

// transition follows the lifecycle in the generator's own rough view, so
// that most lifecycle operations it generates are allowed.
func (g *generator) transition(id string, to rule.State) {
	from, saved := g.state[id]
	switch {
	case !saved:
	case to == rule.Active && (from == rule.Draft || from == rule.Stopped),
		to == rule.Stopped && from == rule.Active,
		to == rule.Archived && from != rule.Archived:
		g.state[id] = to
	}
}

// target picks a lifecycle target: usually a saved campaign in one of the
// states given, sometimes any campaign, saved or not (the engine must
// refuse what the lifecycle does not allow); "" when it picks none. Each
// call draws from the generator's random source.
func (g *generator) target(states ...rule.State) string {
	r := g.r
	var fit []string
	for _, c := range g.saved {
		if slices.Contains(states, g.state[c.ID]) {
			fit = append(fit, c.ID)
		}
	}
	switch {
	case r.IntN(10) == 0:
		return pick(r, g.defs...).ID
	case len(fit) == 0:
		return ""
	}
	return pick(r, fit...)
}

// stoppable picks the target of a stop or an archive, or "".
func (g *generator) stoppable(states ...rule.State) string {
	id := g.target(states...)
	if id != "" && g.restrict.stopLoneFollowUp && len(g.defs) > len(g.originals)+1 && !slices.Contains(g.originals, id) {
		return pick(g.r, g.originals...)
	}
	return id
}

// edit returns a saved campaign with a new delay and/or message.
func (g *generator) edit() genCampaign {
	c := pick(g.r, g.saved...)
	c.Triggers = append([]genMatcher(nil), c.Triggers...)
	c.Exceptions = append([]genMatcher(nil), c.Exceptions...)
	g.nextID++
	c.Message = fmt.Sprintf(`{"%s":%d}`, c.ID, g.nextID)
	if len(c.Triggers) > 0 && g.r.IntN(2) == 0 {
		d := g.delay()
		for len(c.Exceptions) > 0 && d.Kind == "now" {
			d = g.delay()
		}
		c.Delay = d
		g.restrictDelay(&c)
	}
	return c
}

func (g *generator) advance() time.Duration {
	r := g.r
	switch w := r.IntN(20); {
	case w < 1:
		return 0
	case w < 9:
		return pick(r, 30*time.Second, time.Minute, 5*time.Minute, 30*time.Minute)
	case w < 17:
		return pick(r, time.Hour, 3*time.Hour, 12*time.Hour, 24*time.Hour)
	default:
		return pick(r, 48*time.Hour, 72*time.Hour, 96*time.Hour)
	}
}

func (g *generator) event(sc *scenario) genEvent {
	r := g.r
	// A provider retry: the same payload again (a zero time stays zero).
	if len(g.tracked) > 0 && r.IntN(6) == 0 {
		i := pick(r, g.tracked...)
		if ev := sc.Ops[i].Event; ev.ID != "" && (!g.restrict.retriesBeforePublish || i > g.published) {
			ev.RetryOf = i
			return ev
		}
	}
	ev := genEvent{User: pick(r, g.users...), RetryOf: -1}
	var matchers []genMatcher
	for _, c := range g.defs {
		matchers = append(append(matchers, c.Triggers...), c.Exceptions...)
	}
	if len(matchers) > 0 && r.IntN(5) < 4 {
		m := pick(r, matchers...)
		ev.Kind, ev.Campaign = m.Kind, m.Campaign
		if genTargetKinds[m.Kind] {
			ev.Target = m.Target
			if ev.Target == "" || r.IntN(3) == 0 {
				ev.Target = pick(r, "", "b1", "b2")
			}
		}
		ev.Name = m.Name
		if r.IntN(4) == 0 || (m.Kind == event.CustomEvent && r.IntN(5) == 0) {
			ev.Name = g.name(m.Kind)
		}
	} else {
		ev.Kind = pick(r, event.EmailOpened, event.EmailReceived, event.PushReceived, event.SessionStart,
			event.Purchase, event.CustomEvent, event.ConversionPerformed)
		if ev.Kind != event.Purchase && ev.Kind != event.CustomEvent && ev.Kind != event.SessionStart {
			ev.Campaign = pick(r, append([]string{"ghost"}, g.ids()...)...)
		}
		ev.Name = g.name(ev.Kind)
	}
	if ev.Kind == event.Purchase || ev.Kind == event.CustomEvent {
		if ev.HasPrice = r.IntN(10) < 7; ev.HasPrice {
			ev.Price = pick(r, 10, 42, 50, 50.5, 80, 99)
		}
	}
	switch w := r.IntN(20); {
	case w < 3: // no ID: no deduplication
	case w < 4 && len(g.tracked) > 0: // an ID already used, by another user or for another event
		if id := sc.Ops[pick(r, g.tracked...)].Event.ID; !g.restrict.retriesBeforePublish || !g.usedBy(sc, ev.User, id) {
			ev.ID = id
			break
		}
		fallthrough
	default:
		g.nextID++
		ev.ID = fmt.Sprintf("e%d", g.nextID)
	}
	switch w := r.IntN(20); {
	case w < 6: // zero: now
	case w < 8:
		ev.Time = g.now
	case w < 12: // a little late
		ev.Time = g.now.Add(-time.Duration(1+r.IntN(120)) * time.Minute)
	case w < 14: // very late
		ev.Time = g.now.Add(-time.Duration(1+r.IntN(120)) * time.Hour)
	case w < 16: // before the scenario began, before any activation
		ev.Time = g.start.Add(-time.Duration(1+r.IntN(48*60)) * time.Minute)
	default: // exactly on a boundary, usually past, sometimes ahead of the clock
		ev.Time = g.landmark()
	}
	return ev
}

// landmark returns an instant where a rule changes its mind: a publish
// time, an earlier event's time, that time plus a follow-up's delay (a
// due time) and plus its re-eligibility window, a start or an end.
func (g *generator) landmark() time.Time {
	r := g.r
	marks := append([]time.Time(nil), g.publishedAt...)
	for _, c := range g.defs {
		marks = append(marks, c.Start, c.End)
		if c.Delay.Kind == "after" && !c.End.IsZero() {
			marks = append(marks, c.End.Add(-c.Delay.After))
		}
	}
	for _, at := range g.eventTimes {
		marks = append(marks, at)
		c := pick(r, g.defs...)
		due := dueAt(c.Delay, at)
		marks = append(marks, due, due.Add(c.Window))
	}
	var past, ahead []time.Time
	for _, m := range marks {
		switch {
		case m.IsZero():
		case m.After(g.now):
			ahead = append(ahead, m)
		default:
			past = append(past, m)
		}
	}
	if len(ahead) > 0 && (len(past) == 0 || r.IntN(5) == 0) {
		return pick(r, ahead...)
	}
	if len(past) == 0 {
		return g.now
	}
	return pick(r, past...)
}

// usedBy reports whether user already tracked an event with ID id.
func (g *generator) usedBy(sc *scenario, user, id string) bool {
	for _, i := range g.tracked {
		if ev := sc.Ops[i].Event; ev.User == user && ev.ID == id {
			return true
		}
	}
	return false
}

func (g *generator) name(k event.Kind) string {
	switch k {
	case event.Purchase:
		return pick(g.r, "", "sku1", "sku2")
	case event.CustomEvent:
		return pick(g.r, "visit", "signup", "other")
	}
	return ""
}

func (g *generator) ids() []string {
	out := make([]string, len(g.defs))
	for i, c := range g.defs {
		out[i] = c.ID
	}
	return out
}
