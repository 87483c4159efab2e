package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
	"github.com/campaignconnector/campaignconnector/store/postgres"
	"github.com/stretchr/testify/require"
)

// The lifecycle crash tests (see runLifecycleChild) kill a child process
// in the middle of a campaign change and restart as a host does: a new
// store handle and engine that applies its set of campaigns, with or
// without KeepStopped and StopOthers, on a mock clock. They check what
// docs/lifecycle.md and docs/reliability.md promise a crash leaves.
//
// Each test first runs its change to the end to count its writes, then
// kills it after a few of them chosen at random; CCMP_LC_HUNT=1 kills it
// after each of them in turn.

// lcT0 is when the parent sets the store up.
var lcT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const lcUsers = 40

func lcUser(i int) string { return fmt.Sprintf("lc-%03d", i) }

// lcOptions are the options every engine of the lifecycle tests shares.
func lcOptions(clk clock.Clock) []connector.Option {
	return []connector.Option{connector.WithClock(clk), connector.WithDecisionLog(100, 30*24*time.Hour),
		connector.WithInteractionLog(30 * 24 * time.Hour)}
}

func followUp(id string, kind event.Kind, on string, delay time.Duration) rule.Campaign {
	return rule.Campaign{ID: id, Triggers: []rule.Trigger{{Kind: kind, CampaignID: on}}, Delay: rule.After(delay)}
}

// lcSetV1: a chain news → resend → resend2, and promo → promo_fu.
func lcSetV1() []rule.Campaign {
	resend := followUp("resend", event.EmailReceived, "news", time.Hour)
	resend.Exceptions = []rule.Exception{{Kind: event.EmailOpened, CampaignID: "news"}}
	return []rule.Campaign{{ID: "news"}, resend, followUp("resend2", event.EmailReceived, "resend", time.Hour),
		{ID: "promo"}, followUp("promo_fu", event.PushReceived, "promo", time.Hour)}
}

// lcSetV2 edits resend, adds resend3 to the chain and drops promo_fu.
func lcSetV2() []rule.Campaign {
	set := lcSetV1()[:4]
	set[1].Delay = rule.After(2 * time.Hour)
	return append(set, followUp("resend3", event.EmailReceived, "resend2", time.Hour))
}

// lcSetV3 drops the news chain.
func lcSetV3() []rule.Campaign { return lcSetV1()[3:] }

// lcSetWinback is V1 and winback, which the backfill publishes.
func lcSetWinback() []rule.Campaign {
	return append(lcSetV1(), followUp("winback", event.EmailReceived, "news", 24*time.Hour))
}

// lcChange is the change a child makes.
func lcChange(ctx context.Context, e *connector.Engine, change string) error {
	switch change {
	case "apply-v1":
		return e.Apply(ctx, lcSetV1())
	case "apply-v2":
		return e.Apply(ctx, lcSetV2(), connector.StopOthers())
	case "stop":
		return e.Stop(ctx, "resend")
	case "archive":
		return e.Archive(ctx, "resend")
	case "backfill":
		return e.Publish(ctx, "winback", connector.Backfill(lcT0.Add(-time.Hour)))
	case "tick":
		for {
			if n, err := e.Tick(ctx); err != nil || n == 0 {
				return err
			}
		}
	}
	return fmt.Errorf("unknown change %q", change)
}

// lcHarness is one database and the parent's view of it.
type lcHarness struct {
	*multiProcess
	clk *clock.Mock

	mu        sync.Mutex
	sent      map[string]int                  // delivery ID → sends by the parent's engines
	campaign  map[string]string               // delivery ID → campaign, as scheduled or sent
	decisions []rule.Decision                 // of the parent's engines
	before    map[string]store.CampaignRecord // states before the child's change
}

func newLCHarness(t *testing.T) *lcHarness {
	clk := clock.NewMock()
	clk.Set(lcT0)
	return &lcHarness{multiProcess: &multiProcess{t: t, schema: testSchema(t), ns: "lc", dir: t.TempDir()},
		clk: clk, sent: map[string]int{}, campaign: map[string]string{}}
}

// engine is a restarted process's engine: a new store handle.
func (h *lcHarness) engine() *connector.Engine {
	h.t.Helper()
	send := connector.SenderFunc(func(_ context.Context, d connector.Delivery) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.sent[d.ID]++
		h.campaign[d.ID] = d.CampaignID
		return nil
	})
	observe := connector.ObserverFunc(func(d rule.Decision) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.decisions = append(h.decisions, d)
		if d.DeliveryID != "" {
			h.campaign[d.DeliveryID] = d.CampaignID
		}
	})
	e, err := connector.New(openStore(h.t, postgres.WithSchema(h.schema)), send, append(lcOptions(h.clk),
		connector.WithNamespace(h.ns), connector.WithObserver(observe))...)
	require.NoError(h.t, err)
	return e
}

// setUp applies V1 and schedules resend for every user, resend2 and
// promo_fu for half of them, and saves winback as a draft.
func (h *lcHarness) setUp() {
	ctx := context.Background()
	e := h.engine()
	require.NoError(h.t, e.Apply(ctx, lcSetV1()))
	require.NoError(h.t, e.Save(ctx, lcSetWinback()[5]))
	var evs []event.Event
	for i := range lcUsers {
		u := lcUser(i)
		evs = append(evs, event.Event{ID: "rn-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "news", Time: lcT0})
		if i%2 == 0 {
			evs = append(evs, event.Event{ID: "rr-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "resend", Time: lcT0},
				event.Event{ID: "rp-" + u, UserID: u, Kind: event.PushReceived, CampaignID: "promo", Time: lcT0})
		}
	}
	require.NoError(h.t, e.TrackAll(ctx, evs))
	require.NoError(h.t, e.FlushTallies(ctx))
	require.Len(h.t, h.pending(e, "resend"), lcUsers)
}

// states reads the campaigns' states as stored.
func (h *lcHarness) states(e *connector.Engine) map[string]store.CampaignRecord {
	h.t.Helper()
	recs, err := e.Campaigns(context.Background())
	require.NoError(h.t, err)
	out := map[string]store.CampaignRecord{}
	for _, r := range recs {
		out[r.Campaign.ID] = r
	}
	return out
}

func (h *lcHarness) pending(e *connector.Engine, campaign string) []store.Claim {
	h.t.Helper()
	list, err := e.PendingDeliveries(context.Background(), store.PendingQuery{CampaignID: campaign, Limit: store.MaxPendingPage})
	require.NoError(h.t, err)
	return list
}

// crash runs change in a child process on a clock at `at`, killed after
// its n-th write (never, if n is 0). It returns whether the child was
// killed and, if not, how many writes it made.
func (h *lcHarness) crash(change string, n int64, at time.Time) (c *child, killed bool, writes int64) {
	h.t.Helper()
	h.before = h.states(h.engine())
	c = h.start(childConfig{name: fmt.Sprintf("%s-%d", change, n), env: []string{
		envLifecycle + "=" + change, envBlockAt + "=" + strconv.FormatInt(n, 10),
		envNow + "=" + strconv.FormatInt(at.UnixNano(), 10)}})
	for line := range c.lines {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "blocked":
			c.kill()
			return c, true, 0
		case "finished":
			w, text, _ := strings.Cut(rest, " ")
			require.Equal(h.t, "<nil>", text, "the change of child %s", c.name)
			require.NoError(h.t, c.stdin.Close())
			<-c.exited
			require.NoError(h.t, c.err, "child %s", c.name)
			writes, err := strconv.ParseInt(w, 10, 64)
			require.NoError(h.t, err)
			return c, false, writes
		}
	}
	<-c.exited
	h.t.Fatalf("child %s ended (%v) without a word", c.name, c.err)
	return c, false, 0
}

// killPoints runs a child to the end to count the writes of change, and
// returns the writes to kill after: a few at random, every one with
// CCMP_LC_HUNT=1.
func killPoints(t *testing.T, change string, at time.Time, setUp bool) []int64 {
	h := newLCHarness(t)
	if setUp {
		h.setUp()
	}
	_, _, writes := h.crash(change, 0, at)
	require.Positive(t, writes)
	var out []int64
	for n := int64(1); n <= writes; n++ {
		out = append(out, n)
	}
	if os.Getenv("CCMP_LC_HUNT") != "1" {
		rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		out = out[:min(len(out), 3)]
	}
	t.Logf("%s makes %d writes; killing after %v", change, writes, out)
	return out
}

// requireNoDraftFollowUps checks that no campaign the child's change made
// active has a follow-up in set still a draft: its interactions would be
// lost for that follow-up.
func (h *lcHarness) requireNoDraftFollowUps(states map[string]store.CampaignRecord, set []rule.Campaign) {
	h.t.Helper()
	for _, f := range set {
		for _, tr := range f.Triggers {
			on := tr.CampaignID
			if states[on].State != rule.Active || h.before[on].State == rule.Active {
				continue
			}
			require.NotEqual(h.t, rule.Draft, states[f.ID].State,
				"%s became active while its follow-up %s is a draft (states %v)", on, f.ID, stateNames(states))
		}
	}
}

func stateNames(states map[string]store.CampaignRecord) map[string]rule.State {
	out := map[string]rule.State{}
	for id, r := range states {
		out[id] = r.State
	}
	return out
}

// restart applies set as a restarted host does, and checks the states it
// leaves: the set active, but what KeepStopped keeps; with StopOthers,
// nothing else active; nothing pending of a campaign it left stopped or
// archived, nor of one it stopped.
func (h *lcHarness) restart(set []rule.Campaign, keep, others bool) *connector.Engine {
	h.t.Helper()
	ctx := context.Background()
	e := h.engine()
	before := h.states(e)
	var opts []connector.ApplyOption
	if keep {
		opts = append(opts, connector.KeepStopped())
	}
	if others {
		opts = append(opts, connector.StopOthers())
	}
	require.NoError(h.t, e.Apply(ctx, set, opts...))
	after := h.states(e)
	inSet := map[string]bool{}
	for _, c := range set {
		inSet[c.ID] = true
		got := after[c.ID]
		if keep && (before[c.ID].State == rule.Stopped || before[c.ID].State == rule.Archived) {
			require.Equal(h.t, before[c.ID].State, got.State, "%s kept", c.ID)
			require.Empty(h.t, h.pending(e, c.ID), "%s, kept %s, has nothing pending once Apply returned", c.ID, got.State)
			continue
		}
		require.Equal(h.t, rule.Active, got.State, "%s applied", c.ID)
		want, err := json.Marshal(c)
		require.NoError(h.t, err)
		have, err := json.Marshal(got.Campaign)
		require.NoError(h.t, err)
		require.JSONEq(h.t, string(want), string(have), "%s has the set's definition", c.ID)
	}
	for id, r := range after {
		if inSet[id] || !others {
			continue
		}
		require.NotEqual(h.t, rule.Active, r.State, "StopOthers stopped %s", id)
		if r.State == rule.Stopped {
			require.Empty(h.t, h.pending(e, id), "%s, stopped by StopOthers, has nothing pending once Apply returned", id)
		}
	}
	return e
}
