package lifecyclekill

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
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// harness is one database and the parent's view of it.
type harness struct {
	t   *testing.T
	db  Database
	clk *clock.Mock

	mu        sync.Mutex
	sent      map[string]int                  // delivery ID → sends by the parent's engines
	campaign  map[string]string               // delivery ID → campaign, as scheduled or sent
	decisions []rule.Decision                 // of the parent's engines
	before    map[string]store.CampaignRecord // states before the child's change
}

func newHarness(t *testing.T, newDB NewDatabase) *harness {
	clk := clock.NewMock()
	clk.Set(t0)
	return &harness{t: t, db: newDB(t), clk: clk, sent: map[string]int{}, campaign: map[string]string{}}
}

// engine is a restarted process's engine: a new store handle.
func (h *harness) engine() *connector.Engine {
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
	e, err := connector.New(h.db.Open(), send, append(engineOptions(h.clk), connector.WithObserver(observe))...)
	require.NoError(h.t, err)
	return e
}

// setUp applies V1 and schedules resend for every user, resend2 and
// promo_fu for half of them, and saves winback as a draft.
func (h *harness) setUp() {
	ctx := context.Background()
	e := h.engine()
	require.NoError(h.t, e.Apply(ctx, setV1()))
	require.NoError(h.t, e.Save(ctx, setWinback()[5]))
	var evs []event.Event
	for i := range userCount {
		u := userID(i)
		evs = append(evs, event.Event{ID: "rn-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "news", Time: t0})
		if i%2 == 0 {
			evs = append(evs, event.Event{ID: "rr-" + u, UserID: u, Kind: event.EmailReceived, CampaignID: "resend", Time: t0},
				event.Event{ID: "rp-" + u, UserID: u, Kind: event.PushReceived, CampaignID: "promo", Time: t0})
		}
	}
	require.NoError(h.t, e.TrackAll(ctx, evs))
	require.NoError(h.t, e.FlushTallies(ctx))
	require.Len(h.t, h.pending(e, "resend"), userCount)
}

// states reads the campaigns' states as stored.
func (h *harness) states(e *connector.Engine) map[string]store.CampaignRecord {
	h.t.Helper()
	recs, err := e.Campaigns(context.Background())
	require.NoError(h.t, err)
	out := map[string]store.CampaignRecord{}
	for _, r := range recs {
		out[r.Campaign.ID] = r
	}
	return out
}

func (h *harness) pending(e *connector.Engine, campaign string) []store.Claim {
	h.t.Helper()
	list, err := e.PendingDeliveries(context.Background(), store.PendingQuery{CampaignID: campaign, Limit: store.MaxPendingPage})
	require.NoError(h.t, err)
	return list
}

// crash runs change in a child process on a clock at `at`, killed after
// its n-th write (never, if n is 0). It returns whether the child was
// killed and, if not, how many writes it made.
func (h *harness) crash(change string, n int64, at time.Time) (c Child, killed bool, writes int64) {
	h.t.Helper()
	h.before = h.states(h.engine())
	name := fmt.Sprintf("%s-%d", change, n)
	c = h.db.Start(name, []string{
		EnvChange + "=" + change, envBlockAt + "=" + strconv.FormatInt(n, 10),
		envNow + "=" + strconv.FormatInt(at.UnixNano(), 10)})
	for line := range c.Lines() {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "blocked":
			c.Kill()
			return c, true, 0
		case "finished":
			w, text, _ := strings.Cut(rest, " ")
			require.Equal(h.t, "<nil>", text, "the change of child %s", name)
			// The child exits once it has said so: waiting for it (rather
			// than closing its stdin, which its exit may have closed
			// already) is all there is to do.
			require.NoError(h.t, c.Wait(), "child %s", name)
			writes, err := strconv.ParseInt(w, 10, 64)
			require.NoError(h.t, err)
			return c, false, writes
		}
	}
	h.t.Fatalf("child %s ended (%v) without a word", name, c.Wait())
	return c, false, 0
}

// killPoints runs a child to the end to count the writes of change, and
// returns the writes to kill after: a few at random, every one with
// CCMP_LC_HUNT=1.
func killPoints(t *testing.T, newDB NewDatabase, change string, at time.Time, setUp bool) []int64 {
	h := newHarness(t, newDB)
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
func (h *harness) requireNoDraftFollowUps(states map[string]store.CampaignRecord, set []rule.Campaign) {
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
func (h *harness) restart(set []rule.Campaign, keep, others bool) *connector.Engine {
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

// restartWith is how a restarted host applies its set.
type restartWith struct {
	set          []rule.Campaign
	keep, others bool
}

func (r restartWith) String() string {
	return fmt.Sprintf("%d campaigns, KeepStopped %v, StopOthers %v", len(r.set), r.keep, r.others)
}

// drain moves the clock to at and ticks until nothing is sent.
func (h *harness) drain(e *connector.Engine, at time.Time) {
	h.t.Helper()
	h.clk.Set(at)
	for {
		n, err := e.Tick(context.Background())
		require.NoError(h.t, err)
		if n == 0 {
			return
		}
	}
}

// scheduledOf returns the deliveries of campaign the parent scheduled.
func (h *harness) scheduledOf(campaign string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for _, d := range h.decisions {
		if d.Kind == rule.Scheduled && d.CampaignID == campaign {
			out[d.DeliveryID] = d.UserID
		}
	}
	return out
}
