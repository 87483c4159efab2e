package lifecyclestress

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
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

const (
	// dedupWindow is the engines' dedup window in RunRetention: short, so
	// that the clock's steps (30 s to 6 min) carry event IDs past it.
	dedupWindow = 5 * time.Minute
	// logRetention keeps every decision of a run in the decision log.
	logRetention = 30 * 24 * time.Hour
)

// retentionUsers is how many users RunRetention's events are about: few,
// so that Prune, tracking and sending meet on the same users.
const retentionUsers = 10

// RunRetention runs the races of one seed around the dedup window and
// pruning, for rounds rounds. Two engines, each on a store newStore
// returns, remember event IDs for a few minutes (connector.WithDedupWindow),
// keep a decision log, and prune as they tick; between rounds the mock
// clock moves 30 s to 6 min, a follow-up may be stopped, resumed or
// edited, and the stores catch up with the change (see awaitRevision:
// the stores newStore returns should serve a revision a millisecond or
// so old at most). In each round two goroutines track events (singly or in TrackAll
// batches, each to both engines at once), new ones and events tracked
// before — inside their window or past it, mixed in one batch — while the
// engines tick and a third goroutine calls the store's Prune.
//
// Every event then had the effect the window says: tracked inside its
// window (from when it was last processed), it is a duplicate for both
// engines — no decision but one duplicate per follow-up it concerns;
// past its window, or for the first time, it is processed once by one
// engine — one decision per follow-up it triggers, the other engine's a
// duplicate. Once everything due has been ticked: every scheduling of a
// delivery has one outcome, delivered exactly when the sender accepted
// it; each user's decision log holds exactly the decisions the observers
// saw about that user (an update applied twice leaves its decisions
// twice in the log); the tallies, flushed, count those decisions by
// follow-up, hour, kind and reason; nothing is pending. It returns how
// many deliveries the sender accepted.
func RunRetention(t *testing.T, seed uint64, rounds int, newStore func() store.Store) int {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(start)
	r := rand.New(rand.NewPCG(seed, 0x7265))
	send := newSender()
	o := newOutcomes()
	seenAll := &decisions{}
	extra := []connector.Option{
		connector.WithDedupWindow(dedupWindow), connector.WithPruneInterval(time.Minute),
		connector.WithDecisionLog(1<<16, logRetention), connector.WithObserver(connector.ObserverFunc(seenAll.observe)),
	}
	dedupAll := r.IntN(2) == 0
	if dedupAll {
		extra = append(extra, connector.WithDedupAll())
	}
	engines, stores := newEngines(t, clk, newStore, send, o, extra...)
	require.NoError(t, engines[0].Apply(ctx, lifecycleCampaigns(time.Minute, 0)))
	pruner := newStore()
	ns := engines[0].Namespace()

	tk := startTicking(t, engines)
	var history [2][]event.Event // each tracker's events, by index
	var sent [2][]event.Event    // this round's sends, in order
	m := newDedupModel(dedupAll)
	for round := range rounds {
		clk.Add(time.Duration(1+r.IntN(12)) * 30 * time.Second)
		tk.kick()
		switch r.IntN(4) {
		case 0:
			lifecycleStep(ctx, t, r, engines[r.IntN(2)])
		case 1: // resumes balance lifecycleStep's stops
			_ = engines[r.IntN(2)].Publish(ctx, []string{"f1", "f2"}[r.IntN(2)]) // may be active already
		}
		awaitRevision(t, stores, ns)
		recs, err := engines[0].Campaigns(ctx)
		require.NoError(t, err)
		m.active = map[string]bool{}
		for _, rec := range recs {
			m.active[rec.Campaign.ID] = rec.State == rule.Active
		}

		done := make(chan struct{})
		var pruning, tracking sync.WaitGroup
		pruning.Go(func() {
			for {
				now := clk.Now()
				if _, err := pruner.Prune(ctx, ns, now, now.Add(-logRetention)); err != nil {
					t.Error(err)
					return
				}
				select {
				case <-done:
					return
				default:
					runtime.Gosched()
				}
			}
		})
		for g := range 2 {
			r := rand.New(rand.NewPCG(seed, uint64(round*2+g)))
			tracking.Go(func() {
				sent[g] = sent[g][:0]
				for range 6 {
					batch := trackRetention(ctx, t, r, g, clk.Now(), &history[g], engines)
					sent[g] = append(sent[g], batch...)
					tk.kick()
				}
			})
		}
		tracking.Wait()
		close(done)
		pruning.Wait()
		for g := range sent {
			for _, ev := range sent[g] {
				m.send(ev, clk.Now())
			}
		}
	}
	tk.stop()
	settle(t, clk, engines, retentionUsers)
	checkOutcomes(t, send, o, false)
	m.check(t, seenAll.all())
	checkDecisionLogs(t, engines[0], seenAll.all())
	checkTallies(t, engines, seenAll.all())
	t.Logf("seed %d (dedup all %v): %d sends, %d processed (%d past their window), %d duplicates; %d scheduled, %d accepted of %d calls, %d decisions",
		seed, dedupAll, m.sends, m.processed, m.renewed, m.duplicates, len(o.scheduled), len(send.accepted), send.calls, len(seenAll.all()))
	return len(send.accepted)
}

// awaitRevision waits until every store serves the newest revision of
// namespace ns's campaigns any of them has seen, so that each engine
// tracks the round's events with the follow-ups as they are now: a store
// may serve a revision read from the database a little earlier (up to its
// revision max age), and an engine tracks with the campaigns of the
// revision its store serves. It polls: the stores catch up in real time.
func awaitRevision(t *testing.T, stores [2]store.Store, ns string) {
	ctx := context.Background()
	for {
		var revs [2]int64
		for i, s := range stores {
			rev, err := s.Revision(ctx, ns)
			require.NoError(t, err)
			revs[i] = rev
		}
		if revs[0] == revs[1] {
			return
		}
		time.Sleep(time.Millisecond) // paces the polling; decides nothing
	}
}

// trackRetention tracks, to both engines at once, one event or a TrackAll
// batch of two to four, each new (tracked for the first time, at now) or
// one of history's (the same event again), and returns them in order.
// New events are added to history.
func trackRetention(ctx context.Context, t *testing.T, r *rand.Rand, g int, now time.Time, history *[]event.Event, engines [2]*connector.Engine) []event.Event {
	n := 1
	if r.IntN(3) == 0 {
		n = 2 + r.IntN(3)
	}
	batch := make([]event.Event, n)
	for i := range batch {
		if h := *history; len(h) > 0 && r.IntN(2) == 0 {
			from := 0 // any event tracked before, or one of the last few
			if r.IntN(2) == 0 {
				from = max(0, len(h)-6)
			}
			batch[i] = h[from+r.IntN(len(h)-from)]
			continue
		}
		kind := event.EmailReceived
		if r.IntN(4) == 0 {
			kind = event.EmailOpened
		}
		batch[i] = event.Event{ID: fmt.Sprintf("e%d-%d", g, len(*history)), UserID: fmt.Sprint("u", r.IntN(retentionUsers)), Kind: kind, CampaignID: "o", Time: now}
		*history = append(*history, batch[i])
	}
	var both sync.WaitGroup
	for _, e := range engines {
		both.Go(func() {
			var err error
			if n == 1 {
				err = e.Track(ctx, batch[0])
			} else {
				err = e.TrackAll(ctx, batch)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	both.Wait()
	return batch
}

// decisions collects every decision the observers see.
type decisions struct {
	mu   sync.Mutex
	list []rule.Decision
}

func (d *decisions) observe(x rule.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, x)
}

func (d *decisions) all() []rule.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.list)
}

// decisionKey identifies a decision in the log and among those observed.
func decisionKey(d rule.Decision) string {
	return fmt.Sprintf("%s %s/%s %s event=%s delivery=%s attempt=%d at=%s",
		d.UserID, d.Kind, d.Reason, d.CampaignID, d.EventID, d.DeliveryID, d.Attempt, d.At.UTC().Format(time.RFC3339Nano))
}

// checkDecisionLogs checks that each user's decision log, read through e,
// holds exactly the decisions observed about that user.
func checkDecisionLogs(t *testing.T, e *connector.Engine, observed []rule.Decision) {
	ctx := context.Background()
	want := map[string]int{}
	for _, d := range observed {
		if d.UserID != "" {
			want[decisionKey(d)]++
		}
	}
	got := map[string]int{}
	for u := range retentionUsers {
		xs, err := e.ExplainUser(ctx, fmt.Sprint("u", u))
		require.NoError(t, err)
		for _, x := range xs {
			for _, d := range x.Decisions {
				got[decisionKey(d)]++
			}
		}
	}
	for k, n := range got {
		require.Equal(t, want[k], n, "decision logged %d times, observed %d times: %s", n, want[k], k)
	}
	for k, n := range want {
		require.Equal(t, n, got[k], "decision observed %d times, logged %d times: %s", n, got[k], k)
	}
}

// checkTallies flushes both engines' tallies and checks that the store's
// equal the decisions observed, counted by follow-up, hour, kind, reason
// and rule.
func checkTallies(t *testing.T, engines [2]*connector.Engine, observed []rule.Decision) {
	ctx := context.Background()
	for _, e := range engines {
		require.NoError(t, e.FlushTallies(ctx))
	}
	want := map[store.TallyKey]int64{}
	for _, d := range observed {
		if d.Kind == rule.Warned || d.Kind == rule.Applied {
			continue // about campaigns, not counted
		}
		k := store.TallyKey{Hour: d.At.Truncate(time.Hour).Unix(), CampaignID: d.CampaignID, Kind: d.Kind, Reason: d.Reason}
		if d.Kind == rule.Cancelled && d.Reason == rule.ReasonException {
			k.Rule = d.Rule
		}
		if d.Kind == rule.Suppressed && d.DeliveryID != "" { // a delivery's, when it came due
			k.Rule = store.RuleWhenDue
		}
		want[k] += 1
	}
	ts, err := engines[1].Tallies(ctx, store.TallyQuery{})
	require.NoError(t, err)
	got := map[store.TallyKey]int64{}
	for _, x := range ts {
		got[x.Key()] = x.Count
	}
	require.Equal(t, want, got, "tallies against the decisions observed")
}
