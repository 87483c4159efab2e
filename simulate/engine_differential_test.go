package simulate_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/simulate"
	"github.com/campaignconnector/campaignconnector/store"
)

var (
	diffSeed = flag.Uint64("diff.seed", 0, "run only this seed of TestReplayMatchesTickedEngine")
	diffN    = flag.Int("diff.n", diffDefaultN, "scenarios of TestReplayMatchesTickedEngine")
)

// TestReplayMatchesTickedEngine is a differential test of the dry run:
// each generated scenario (engine_differential_gen_test.go) is replayed
// with Replay and run on a plain engine, on a memory store and a mock
// clock that moves a minute at a time, ticking at every minute (until a
// tick decides nothing) and tracking each line at its arrival, as the
// docs describe Replay (diagnostics.md, "Replaying an event log"). The
// simulator stops at due times only; since every time the scenario draws
// is a whole minute, the two must agree on every decision (its time,
// kind, reason, delivery, due time and attempt), every delivery the
// sender accepted and when, the events rejected, and the line, if any,
// that stopped the replay.
//
// On the ticked engine it also checks the engine's own accounts against
// its sender: each accepted delivery has exactly one delivered decision,
// at the time the sender got it, and no delivered decision lacks a send;
// Explain of each user and follow-up holds exactly the observed decisions
// about them, and its Received is the last receipt (a delivery or a
// hold-out).
//
// Replay one scenario with go test ./simulate -run TestReplayMatchesTickedEngine -diff.seed=N -v.
func TestReplayMatchesTickedEngine(t *testing.T) {
	seeds := make([]uint64, 0, *diffN)
	if *diffSeed != 0 {
		seeds = append(seeds, *diffSeed)
	} else {
		for i := range *diffN {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, seed := range seeds {
		sc := diffGenerate(seed)
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { diffRun(t, sc) }) && *diffSeed == 0 {
			t.Logf("replay with -diff.seed=%d", seed)
		}
	}
}

// sendRec is a delivery the sender accepted, and when.
type sendRec struct {
	connector.Delivery
	At time.Time
}

func (s sendRec) String() string {
	return fmt.Sprintf("%s %s %s due %s attempt %d at %s", s.UserID, s.CampaignID, s.ID,
		s.DueAt.UTC().Format(time.RFC3339), s.Attempt, s.At.UTC().Format(time.RFC3339))
}

// decisionLine is a decision in full, for comparison.
func decisionLine(d rule.Decision) string {
	return fmt.Sprintf("%s [delivery %s due %s attempt %d event_time %s]", d.String(), d.DeliveryID,
		d.DueAt.UTC().Format(time.RFC3339), d.Attempt, d.EventTime.UTC().Format(time.RFC3339))
}

func diffRun(t *testing.T, sc diffScenario) {
	sim, rejected, serr := simulate.Replay(sc.Setup, sc.Log, sc.Until, sc.opts()...)
	if sc.FailPct > 0 {
		// Replay's recorder accepts everything: replay by hand, as
		// Replay does, with a recorder that refuses some attempts.
		sim, rejected, serr = replayFailing(t, sc)
	}
	if sim == nil {
		t.Fatalf("Replay refused the scenario: %v", serr)
	}
	ref := newTicked(t, sc)
	rrejected, rline, rerr := ref.replay(sc)

	defer func() {
		if t.Failed() {
			t.Logf("seed %d, options %v, setup %+v", sc.Seed, sc.desc, sc.Setup)
			for i, l := range sc.Log {
				t.Logf("line %d: %+v", i+1, l)
			}
		}
	}()
	var le *simulate.LineError
	sline := 0
	if errors.As(serr, &le) {
		sline = le.Line
	}
	if (serr == nil) != (rerr == nil) || sline != rline {
		t.Fatalf("replay error at line %d: %v; ticked engine's at line %d: %v", sline, serr, rline, rerr)
	}
	if len(rejected) != rrejected {
		t.Errorf("Replay rejected %d events, the engine %d: %v", len(rejected), rrejected, rejected)
	}

	var sd, rd []string
	for _, d := range sim.Decisions() {
		sd = append(sd, decisionLine(d))
	}
	for _, d := range ref.decided() {
		rd = append(rd, decisionLine(d))
	}
	diffLists(t, "decisions", sd, rd)

	var ss, rs []string
	for _, d := range sim.Sent() {
		ss = append(ss, sendRec{d, sim.Sender.SentAt(d.ID)}.String())
	}
	for _, s := range ref.accepted() {
		rs = append(rs, s.String())
	}
	diffLists(t, "deliveries", ss, rs)

	ref.checkAccounts(t)
}

// diffLists fails t at the first difference of the simulator's list s and
// the ticked engine's r.
func diffLists(t *testing.T, what string, s, r []string) {
	t.Helper()
	for i := range max(len(s), len(r)) {
		var a, b string
		if i < len(s) {
			a = s[i]
		}
		if i < len(r) {
			b = r[i]
		}
		if a != b {
			from := max(i-3, 0)
			t.Errorf("%s differ at %d (simulator %d, ticked engine %d):\n  simulator: %s\n  engine:    %s\nbefore:\n  %s",
				what, i, len(s), len(r), a, b, strings.Join(s[from:i], "\n  "))
			return
		}
	}
}

// stepClock is a clock set by hand. Unlike clock.Mock, whose every move
// yields a millisecond of real time to other goroutines, it moves at once:
// the ticked engine moves it thousands of times per scenario, and nothing
// of it (no Run) waits on its timers.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Timer returns a timer of the system's clock: only a send that outlasts
// a quarter of its lease, or a failed write retried, waits on one, and
// neither happens here.
func (c *stepClock) Timer(d time.Duration) *clock.Timer { return clock.New().Timer(d) }

// ticked is a plain engine on a memory store and a clock moved by hand, a
// minute at a time, and ticked at every minute.
type ticked struct {
	clk  *stepClock
	eng  *connector.Engine
	fail func(connector.Delivery) error

	mu        sync.Mutex
	decisions []rule.Decision
	sent      []sendRec
}

func newTicked(t *testing.T, sc diffScenario) *ticked {
	k := &ticked{clk: &stepClock{}, fail: sc.failure}
	k.clk.Set(sc.Setup.Start)
	loc, err := time.LoadLocation(sc.Setup.Location)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]connector.Option{
		connector.WithLocation(loc), connector.WithClock(k.clk), connector.WithSendConcurrency(1),
		connector.WithObserver(connector.ObserverFunc(func(d rule.Decision) {
			k.mu.Lock()
			k.decisions = append(k.decisions, d)
			k.mu.Unlock()
		})),
	}, sc.opts()...)
	k.eng, err = connector.New(store.NewMemory(), connector.SenderFunc(k.send), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *ticked) send(_ context.Context, d connector.Delivery) error {
	if err := k.fail(d); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sent = append(k.sent, sendRec{d, k.clk.Now()})
	return nil
}

func (k *ticked) decided() []rule.Decision {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.decisions)
}

func (k *ticked) accepted() []sendRec {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.sent)
}

// replay applies the scenario as the docs describe Replay: the setup's
// campaigns saved and published, each line at max(its time, the clock),
// then the clock on to Until. It returns how many events the engine
// rejected as invalid, and the line (from 1) and error that stopped it.
func (k *ticked) replay(sc diffScenario) (rejected, line int, err error) {
	ctx := context.Background()
	for _, c := range sc.Setup.Campaigns {
		if err := k.eng.Save(ctx, c); err != nil {
			return 0, 0, err
		}
	}
	for _, id := range sc.Setup.Publish {
		if err := k.eng.Publish(ctx, id); err != nil {
			return 0, 0, err
		}
	}
	for i, l := range sc.Log {
		if err := k.stepTo(l.Time); err != nil {
			return rejected, i + 1, err
		}
		switch l.Op {
		case "":
			err = k.eng.Track(ctx, l.Event)
			var ve *event.ValidationError
			if errors.As(err, &ve) {
				rejected++
				err = nil
			}
		case "publish":
			err = k.eng.Publish(ctx, l.Campaign)
		case "stop":
			err = k.eng.Stop(ctx, l.Campaign)
		case "archive":
			err = k.eng.Archive(ctx, l.Campaign)
		}
		if err != nil {
			return rejected, i + 1, err
		}
	}
	return rejected, 0, k.stepTo(sc.Until)
}

// stepTo moves the clock to target, if later, a minute at a time, ticking
// at the clock's time first and at every minute on the way, target
// included.
func (k *ticked) stepTo(target time.Time) error {
	if !target.After(k.clk.Now()) {
		return nil
	}
	for {
		if err := k.tickHere(); err != nil {
			return err
		}
		now := k.clk.Now()
		if !now.Before(target) {
			return nil
		}
		next := now.Truncate(time.Minute).Add(time.Minute)
		if next.After(target) {
			next = target
		}
		k.clk.Set(next)
	}
}

// tickHere ticks until a tick sends and decides nothing, as Run does while
// deliveries are due now.
func (k *ticked) tickHere() error {
	for range 64 {
		before := len(k.decided())
		n, err := k.eng.Tick(context.Background())
		if err != nil {
			return err
		}
		if n == 0 && len(k.decided()) == before {
			return nil
		}
	}
	return errors.New("ticks at one instant keep deciding")
}

// checkAccounts checks the engine's decisions and Explain against what the
// sender received.
func (k *ticked) checkAccounts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	decisions, sent := k.decided(), k.accepted()
	delivered := map[string][]rule.Decision{} // by delivery ID and attempt
	for _, d := range decisions {
		if d.Kind == rule.Delivered {
			key := fmt.Sprintf("%s#%d", d.DeliveryID, d.Attempt)
			delivered[key] = append(delivered[key], d)
		}
	}
	for _, s := range sent {
		key := fmt.Sprintf("%s#%d", s.ID, s.Attempt)
		ds := delivered[key]
		switch {
		case len(ds) != 1:
			t.Errorf("delivery %s: %d delivered decisions, want 1", s, len(ds))
		case !ds[0].At.Equal(s.At) || ds[0].UserID != s.UserID || ds[0].CampaignID != s.CampaignID || !ds[0].DueAt.Equal(s.DueAt):
			t.Errorf("delivery %s: delivered decision %s", s, decisionLine(ds[0]))
		}
		delete(delivered, key)
	}
	for _, ds := range delivered {
		t.Errorf("delivered decision without a send: %s", decisionLine(ds[0]))
	}

	type pair struct{ user, campaign string }
	about := map[pair][]rule.Decision{}
	received := map[pair]time.Time{}
	for _, d := range decisions {
		if d.UserID == "" || d.CampaignID == "" || (d.Kind == rule.Ignored && d.Reason == rule.ReasonUnknownCampaign) {
			continue // no user's, or not kept in the user's log
		}
		p := pair{d.UserID, d.CampaignID}
		d.Namespace = ""
		about[p] = append(about[p], d)
		if d.Kind == rule.Delivered || d.Kind == rule.HeldOut {
			received[p] = d.At
		}
	}
	for p, want := range about {
		x, err := k.eng.Explain(ctx, p.user, p.campaign)
		if err != nil {
			t.Fatalf("Explain(%s, %s): %v", p.user, p.campaign, err)
		}
		var got, wantL []string
		for _, d := range x.Decisions {
			got = append(got, decisionLine(d))
		}
		for _, d := range want {
			wantL = append(wantL, decisionLine(d))
		}
		diffLists(t, fmt.Sprintf("Explain(%s, %s) against observed decisions", p.user, p.campaign), got, wantL)
		if !x.Received.Equal(received[p]) {
			t.Errorf("Explain(%s, %s).Received = %s, last receipt decided at %s", p.user, p.campaign, x.Received, received[p])
		}
	}
}
