package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/stretchr/testify/require"
)

// TestEngineOnSQLiteDecidesAsOnMemory runs random scenarios — campaigns
// with delays (a calendar delay in Paris among them), exceptions,
// re-eligibility, a control group, conversions, a send window, a rate
// limit, a trigger on a Target and the replace-with-latest policy, under
// quiet hours and a frequency cap; events one by one and in batches, late
// and backdated ones, provider retries (duplicate IDs, some after the
// dedup window); sends that fail and are retried; follow-ups stopped and
// published again; definitions edited through Apply; the engine restarted
// on a reopened store; time moved by minutes or days, with retentions
// short enough that pruning removes state — through an engine on the
// memory store and one on SQLite, and requires the same decisions and the
// same deliveries (ID, user, follow-up, attempt, time) after every step,
// and the same state at the end.
func TestEngineOnSQLiteDecidesAsOnMemory(t *testing.T) {
	seeds := diffSeeds
	if testing.Short() {
		seeds = 8
	}
	path := testPath(t)
	for seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ns := fmt.Sprint("seed-", seed)
			sc := newScenario(uint64(seed))
			mem := store.NewMemory()
			want := sc.play(t, func() store.Store { return mem }, ns)
			got := sc.play(t, func() store.Store { return openStore(t, path) }, ns)
			require.Equal(t, len(want.steps), len(got.steps))
			for i := range want.steps {
				require.Equal(t, want.steps[i], got.steps[i], "step %d: %s", i, sc.ops[i])
			}
			require.Equal(t, want.final, got.final, "the users' state at the end")
			require.NotEmpty(t, want.sent, "the scenario sends something")
		})
	}
}

// scenario is a random list of operations on an engine, the same for
// every store it plays on.
type scenario struct {
	start time.Time
	ops   []scenarioOp
}

type scenarioOp struct {
	kind    string // "track", "track all", "advance", "stop", "publish", "edit", "restart"
	events  []event.Event
	advance time.Duration
	id      string // the follow-up stopped or published
}

func (o scenarioOp) String() string {
	switch o.kind {
	case "advance":
		return "advance " + o.advance.String()
	case "stop", "publish", "edit":
		return o.kind + " " + o.id
	case "restart":
		return o.kind
	}
	var ids []string
	for _, ev := range o.events {
		ids = append(ids, fmt.Sprintf("%s/%s/%s", ev.UserID, ev.Kind, ev.ID))
	}
	return o.kind + " " + strings.Join(ids, " ")
}

func scenarioCampaigns() []rule.Campaign {
	return []rule.Campaign{
		{ID: "news", Channel: event.Email},
		{ID: "push", Channel: event.Push},
		{ID: "resend", Channel: event.Email, Message: json.RawMessage(`{"subject":"again"}`),
			Triggers:   []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "news"}},
			Delay:      rule.After(6 * time.Hour),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}},
		{ID: "nudge", Channel: event.Push, Triggers: []rule.Trigger{{Kind: event.PushReceived, CampaignID: "push"}},
			Reeligibility: rule.ReeligibleAfter(3 * time.Hour), RateLimit: 2},
		{ID: "thanks", Channel: event.Email, Triggers: []rule.Trigger{{Kind: event.Purchase}},
			Delay: rule.After(30 * time.Minute), ControlPercent: 30,
			Conversions: []rule.Conversion{{ID: "again", Kind: event.Purchase, Deadline: 48 * time.Hour}}},
		{ID: "daytime", Channel: event.SMS, Triggers: []rule.Trigger{{Kind: event.PushOpened, CampaignID: "push"}},
			Delay:      rule.After(2 * time.Hour),
			SendWindow: &rule.SendWindow{From: rule.At(9, 0), To: rule.At(17, 0), NextAvailable: true}},
		{ID: "night", Channel: event.Email,
			Triggers:      []rule.Trigger{{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "offer"}},
			Delay:         rule.InDaysAt(1, 2, 30), // on the night clocks go forward in Paris, 02:30 does not exist
			PendingPolicy: rule.ReplaceWithLatest, Reeligibility: rule.ReeligibleAfter(0),
			Exceptions: []rule.Exception{{Kind: event.EmailAliasClicked, CampaignID: "news", Target: "stop"}}},
	}
}

var followUps = []string{"resend", "nudge", "thanks", "daytime", "night"}

// editedCampaigns returns the campaigns with follow-up id edited: its
// delay, message and pending policy changed, as a new version of the
// host's code would.
func editedCampaigns(id string, version int) []rule.Campaign {
	cs := scenarioCampaigns()
	for i := range cs {
		if cs[i].ID != id {
			continue
		}
		cs[i].Message = json.RawMessage(fmt.Sprintf(`{"version":%d}`, version))
		if version%2 == 1 {
			cs[i].Delay = rule.After(time.Duration(version) * 45 * time.Minute)
			cs[i].PendingPolicy = rule.AllowParallel
			cs[i].Exceptions = nil
		}
	}
	return cs
}

func newScenario(seed uint64) scenario {
	r := rand.New(rand.NewPCG(seed, 0x73716c69746521))
	// Some days before clocks go forward in Paris (29 March 2026).
	sc := scenario{start: time.Date(2026, 3, 26, 7, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3*24*60)) * time.Minute)}
	users := 2 + r.IntN(6)
	kinds := []event.Kind{event.EmailReceived, event.EmailOpened, event.PushReceived, event.PushOpened, event.Purchase, event.EmailAliasClicked}
	campaignOf := map[event.Kind]string{event.EmailReceived: "news", event.EmailOpened: "news",
		event.PushReceived: "push", event.PushOpened: "push", event.EmailAliasClicked: "news"}
	var elapsed time.Duration // the clock's advance so far, for backdated events
	nextID := 0
	var sent []event.Event // tracked events with an ID, for provider retries
	newEvent := func() event.Event {
		if len(sent) > 0 && r.IntN(8) == 0 {
			return sent[r.IntN(len(sent))] // the provider's retry
		}
		k := kinds[r.IntN(len(kinds))]
		ev := event.Event{UserID: fmt.Sprint("u", r.IntN(users)), Kind: k, CampaignID: campaignOf[k]}
		if k == event.Purchase {
			ev.Name = "sku"
			ev.Properties = map[string]any{"price": r.IntN(100)}
		}
		if k == event.EmailAliasClicked {
			ev.Target = []string{"offer", "offer", "stop", "other"}[r.IntN(4)]
		}
		if elapsed > 0 && r.IntN(6) == 0 { // backdated: it happened some time ago
			ev.Time = sc.start.Add(time.Duration(r.Int64N(int64(elapsed))).Truncate(time.Minute))
		}
		if r.IntN(4) > 0 {
			nextID++
			ev.ID = fmt.Sprint("e", nextID)
			sent = append(sent, ev)
		}
		return ev
	}
	for range 60 + r.IntN(60) {
		switch w := r.IntN(100); {
		case w < 40:
			sc.ops = append(sc.ops, scenarioOp{kind: "track", events: []event.Event{newEvent()}})
		case w < 55:
			op := scenarioOp{kind: "track all"}
			for range 2 + r.IntN(12) {
				op.events = append(op.events, newEvent())
			}
			sc.ops = append(sc.ops, op)
		case w < 92:
			d := time.Duration(1+r.IntN(90)) * time.Minute
			if r.IntN(4) == 0 {
				d = time.Duration(1+r.IntN(30)) * time.Hour
			}
			elapsed += d
			sc.ops = append(sc.ops, scenarioOp{kind: "advance", advance: d})
		case w < 94:
			sc.ops = append(sc.ops, scenarioOp{kind: "stop", id: followUps[r.IntN(len(followUps))]})
		case w < 97:
			sc.ops = append(sc.ops, scenarioOp{kind: "publish", id: followUps[r.IntN(len(followUps))]})
		case w < 99:
			sc.ops = append(sc.ops, scenarioOp{kind: "edit", id: followUps[r.IntN(len(followUps))]})
		default:
			sc.ops = append(sc.ops, scenarioOp{kind: "restart"})
		}
	}
	sc.ops = append(sc.ops, scenarioOp{kind: "advance", advance: 72 * time.Hour})
	return sc
}

// outcome is what a scenario did on one store: per step, the decisions and
// sends it made (sorted: within a step, stores may list cancelled
// deliveries in another order), and the users' state at the end.
type outcome struct {
	steps [][]string
	sent  []string
	final map[string]string
}

// play runs the scenario on the store open returns, in namespace ns. A
// restart builds a new engine on the store open returns then (the same
// memory store, a reopened SQLite file).
func (sc scenario) play(t *testing.T, open func() store.Store, ns string) outcome {
	ctx := context.Background()
	s := open()
	clk := clock.NewMock()
	clk.Set(sc.start)
	var (
		mu   sync.Mutex
		step []string
		out  outcome
	)
	note := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		step = append(step, line)
	}
	observe := connector.ObserverFunc(func(d rule.Decision) {
		note(fmt.Sprintf("%s %s %s %s ev=%s delivery=%s due=%s attempt=%d %s",
			d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.Reason, d.CampaignID+"/"+d.UserID, d.EventID,
			d.DeliveryID, d.DueAt.UTC().Format(time.RFC3339Nano), d.Attempt, d.Detail))
	})
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		line := fmt.Sprintf("send %s %s/%s attempt=%d at %s", d.ID, d.CampaignID, d.UserID, d.Attempt,
			clk.Now().Format(time.RFC3339Nano))
		h := fnv.New32a()
		fmt.Fprint(h, d.ID, d.Attempt)
		if h.Sum32()%4 == 0 {
			note(line + " refused")
			return errors.New("provider unavailable")
		}
		note(line)
		mu.Lock()
		out.sent = append(out.sent, line)
		mu.Unlock()
		return nil
	})
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	newEngine := func() *connector.Engine {
		e, err := connector.New(s, send, connector.WithClock(clk), connector.WithNamespace(ns),
			connector.WithObserver(observe), connector.WithSendConcurrency(1), connector.WithLocation(paris),
			connector.WithDecisionLog(20, 2*24*time.Hour), connector.WithPruneInterval(6*time.Hour),
			connector.WithDedupWindow(8*time.Hour), connector.WithReceiptRetention(4*24*time.Hour),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 3, Base: 10 * time.Minute, Max: time.Hour}),
			connector.WithQuietHours(connector.QuietHours{From: rule.At(23, 0), To: rule.At(6, 0), Defer: true}),
			connector.WithFrequencyCaps(connector.FrequencyCap{Max: 3, Window: 24 * time.Hour}))
		require.NoError(t, err)
		return e
	}
	e := newEngine()
	edits := 0
	for _, c := range scenarioCampaigns() {
		require.NoError(t, e.Save(ctx, c))
	}
	for _, c := range scenarioCampaigns() {
		require.NoError(t, e.Publish(ctx, c.ID))
	}
	users := map[string]bool{}
	for _, op := range sc.ops {
		switch op.kind {
		case "track":
			ev := op.events[0]
			users[ev.UserID] = true
			if err := e.Track(ctx, ev); err != nil {
				note("error " + err.Error())
			}
		case "track all":
			for _, ev := range op.events {
				users[ev.UserID] = true
			}
			if err := e.TrackAll(ctx, op.events); err != nil {
				note("error " + err.Error())
			}
		case "advance":
			advance(t, e, s, clk, ns, op.advance)
		case "stop":
			if err := e.Stop(ctx, op.id); err != nil {
				note("error " + err.Error())
			}
		case "publish":
			if err := e.Publish(ctx, op.id); err != nil {
				note("error " + err.Error())
			}
		case "edit":
			edits++
			if err := e.Apply(ctx, editedCampaigns(op.id, edits), connector.KeepStopped()); err != nil {
				note("error " + err.Error())
			}
		case "restart":
			if c, ok := s.(interface{ Close() error }); ok {
				require.NoError(t, c.Close())
			}
			s = open()
			e = newEngine()
		}
		mu.Lock()
		slices.Sort(step)
		out.steps = append(out.steps, step)
		step = nil
		mu.Unlock()
	}
	out.final = map[string]string{}
	for u := range users {
		st, err := s.User(ctx, ns, u)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		out.final[u] = describeUser(st)
	}
	return out
}

// advance moves the clock forward by d, stopping at every due time on the
// way and ticking there, as a running engine would.
func advance(t *testing.T, e *connector.Engine, s store.Store, clk *clock.Mock, ns string, d time.Duration) {
	ctx := context.Background()
	target := clk.Now().Add(d)
	for {
		_, err := e.Tick(ctx)
		require.NoError(t, err)
		next, ok, err := s.NextDue(ctx, ns)
		require.NoError(t, err)
		if !ok || next.After(target) {
			break
		}
		if !next.After(clk.Now()) {
			next = clk.Now().Add(time.Millisecond) // due but deferred: step over it
		}
		if next.After(target) {
			break
		}
		clk.Set(next)
	}
	clk.Set(target)
	_, err := e.Tick(ctx)
	require.NoError(t, err)
}

// describeUser renders what a user's state holds, times to the
// nanosecond.
func describeUser(u store.UserState) string {
	var b strings.Builder
	for _, p := range u.Pending {
		fmt.Fprintf(&b, "pending %s %s due=%s ready=%s attempt=%d control=%v\n", p.ID, p.CampaignID,
			p.DueAt.UTC().Format(time.RFC3339Nano), p.ReadyAt.UTC().Format(time.RFC3339Nano), p.Attempt, p.Control)
	}
	for _, r := range u.Receipts {
		fmt.Fprintf(&b, "receipt %s at=%s expires=%s\n", r.CampaignID, r.At.UTC().Format(time.RFC3339Nano), r.Expires.UTC().Format(time.RFC3339Nano))
	}
	for _, x := range u.Sends {
		fmt.Fprintf(&b, "send %s %s at=%s\n", x.CampaignID, x.Channel, x.At.UTC().Format(time.RFC3339Nano))
	}
	for _, c := range u.Conversions {
		fmt.Fprintf(&b, "conversion %s/%s deadline=%s\n", c.CampaignID, c.ConversionID, c.Deadline.UTC().Format(time.RFC3339Nano))
	}
	for _, d := range u.Log {
		fmt.Fprintf(&b, "log %s %s %s %s\n", d.At.UTC().Format(time.RFC3339Nano), d.Kind, d.CampaignID, d.Reason)
	}
	return b.String()
}
