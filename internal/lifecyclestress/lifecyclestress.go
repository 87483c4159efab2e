// Package lifecyclestress runs two engines under lifecycle races, for the
// tests of each store: the memory store's (in connector), SQLite's and
// PostgreSQL's run the same races and check the same properties.
package lifecyclestress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/rule"
	"github.com/campaignconnector/campaignconnector/store"
)

// start is the mock clock's time at the start of a run.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// flakySender accepts a delivery at its second attempt when the
// delivery's hash says so, yields the processor during some sends, and
// counts what it accepted.
type flakySender struct {
	mu       sync.Mutex
	accepted map[string]int // by delivery ID
	byEvent  map[string]int // by user, follow-up and trigger event ID
	calls    int
}

func (s *flakySender) Send(_ context.Context, d connector.Delivery) error {
	h := 0
	for _, c := range d.ID {
		h = h*31 + int(c)
	}
	if h%3 == 0 {
		for range 50 {
			runtime.Gosched()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if h%4 == 0 && d.Attempt == 1 {
		return errors.New("421 try later")
	}
	s.accepted[d.ID]++
	s.byEvent[d.UserID+"/"+d.CampaignID+"/"+d.Trigger.ID]++
	return nil
}

// lifecycleOutcomes collects, per delivery, its schedulings and outcomes:
// a delivery's ID derives from its trigger, so a trigger processed again
// after its dedup window schedules the same ID again.
type lifecycleOutcomes struct {
	mu        sync.Mutex
	outcome   map[string][]rule.DecisionKind // by delivery ID
	scheduled map[string]int
}

func newOutcomes() *lifecycleOutcomes {
	return &lifecycleOutcomes{outcome: map[string][]rule.DecisionKind{}, scheduled: map[string]int{}}
}

func (o *lifecycleOutcomes) observe(d rule.Decision) {
	if d.DeliveryID == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch d.Kind {
	case rule.Scheduled:
		o.scheduled[d.DeliveryID]++
	case rule.Delivered, rule.Cancelled, rule.Suppressed, rule.Failed, rule.HeldOut:
		o.outcome[d.DeliveryID] = append(o.outcome[d.DeliveryID], d.Kind)
	}
}

// lifecycleCampaigns are the stress's follow-ups, with delay and rate.
func lifecycleCampaigns(delay time.Duration, rate int) []rule.Campaign {
	return []rule.Campaign{
		{ID: "o"},
		{ID: "f1", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(delay),
			Exceptions: []rule.Exception{{Kind: event.EmailOpened, CampaignID: "o"}}},
		{ID: "f2", Triggers: []rule.Trigger{{Kind: event.EmailReceived, CampaignID: "o"}}, Delay: rule.After(2 * delay),
			RateLimit: rate, Reeligibility: rule.ReeligibleAfter(time.Minute)},
	}
}

// Run runs the races of one seed, with events triggers and exceptions per
// tracking goroutine: two engines, each on a store newStore returns
// (handles on one database, or one memory store), ticking as the clock
// moves, while two goroutines track triggers (each to both engines at once, with one ID)
// and exceptions, and another stops, resumes and edits the follow-ups
// (Apply, with StopOthers too).
// Once everything due has been ticked, every trigger was accepted at most
// once per follow-up, every scheduled delivery has exactly one outcome,
// delivered exactly when the sender accepted it, and nothing is pending.
// It returns how many deliveries the sender accepted: stops can cancel all
// of a seed's, so callers check that their seeds together sent some.
func Run(t *testing.T, seed uint64, events int, newStore func() store.Store) int {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(start)
	send := newSender()
	o := newOutcomes()
	engines, _ := newEngines(t, clk, newStore, send, o)
	require.NoError(t, engines[0].Apply(ctx, lifecycleCampaigns(time.Minute, 0)))

	r := rand.New(rand.NewPCG(seed, seed))
	const users = 40
	var tracking sync.WaitGroup
	progress := make(chan struct{}, 2*events) // a tracker's tenth event
	tk := startTicking(t, engines)
	for g := range 2 {
		r := rand.New(rand.NewPCG(seed, uint64(g)+10))
		tracking.Go(func() {
			for i := range events {
				kind := event.EmailReceived
				if r.IntN(4) == 0 {
					kind = event.EmailOpened
				}
				ev := event.Event{ID: fmt.Sprintf("e%d-%d", g, i), UserID: fmt.Sprint("u", r.IntN(users)), Kind: kind, CampaignID: "o", Time: clk.Now()}
				var both sync.WaitGroup
				for _, e := range engines {
					both.Go(func() {
						if err := e.Track(ctx, ev); err != nil {
							t.Error(err)
						}
					})
				}
				both.Wait()
				if i%10 == 9 {
					progress <- struct{}{}
				}
			}
		})
	}
	tracking.Go(func() {
		for range 2 * events / 10 {
			<-progress
			clk.Add(time.Duration(r.IntN(120)) * time.Second)
			tk.kick()
			lifecycleStep(ctx, t, r, engines[r.IntN(2)])
		}
		if err := engines[0].Apply(ctx, lifecycleCampaigns(time.Minute, 1)); err != nil {
			t.Error(err)
		}
	})
	tracking.Wait()
	ticks := tk.stop()
	settle(t, clk, engines, users)
	checkOutcomes(t, send, o, true)
	t.Logf("seed %d: %d scheduled, %d accepted of %d calls, %d ticks", seed, len(o.scheduled), len(send.accepted), send.calls, ticks)
	return len(send.accepted)
}

// newSender returns a flakySender that accepted nothing yet.
func newSender() *flakySender {
	return &flakySender{accepted: map[string]int{}, byEvent: map[string]int{}}
}

// newEngines builds the two engines of a run on the clock, each on a
// store of newStore's (returned too), sending with send and observed by
// o, with the options extra adds.
func newEngines(t *testing.T, clk *clock.Mock, newStore func() store.Store, send *flakySender, o *lifecycleOutcomes, extra ...connector.Option) ([2]*connector.Engine, [2]store.Store) {
	// The lease outlasts the clock's largest step: on a mock clock the
	// keeper cannot renew a lease the clock jumps past.
	var engines [2]*connector.Engine
	var stores [2]store.Store
	for i := range engines {
		opts := append([]connector.Option{connector.WithClock(clk),
			connector.WithRetryPolicy(connector.RetryPolicy{MaxAttempts: 4, Base: time.Minute, Max: time.Hour}),
			connector.WithObserver(connector.ObserverFunc(o.observe)), connector.WithSendConcurrency(3),
			connector.WithBatchSize(4), connector.WithLease(time.Hour), connector.WithFrequencyCaps(connector.FrequencyCap{Max: 5, Window: time.Hour})},
			extra...)
		stores[i] = newStore()
		e, err := connector.New(stores[i], send, opts...)
		require.NoError(t, err)
		engines[i] = e
	}
	return engines, stores
}

// lifecycleStep stops, resumes or edits a follow-up through e, as r
// draws: a stop, a resume, an Apply of edited delays and rates keeping
// stopped follow-ups stopped, or an Apply of a set without the follow-up
// that stops it (StopOthers).
func lifecycleStep(ctx context.Context, t *testing.T, r *rand.Rand, e *connector.Engine) {
	id := []string{"f1", "f2"}[r.IntN(2)]
	switch r.IntN(5) {
	case 0, 1:
		_ = e.Stop(ctx, id) // may be stopped already
	case 2:
		_ = e.Publish(ctx, id) // may be active already
	case 3:
		if err := e.Apply(ctx, lifecycleCampaigns(time.Duration(1+r.IntN(5))*time.Minute, r.IntN(3)), connector.KeepStopped()); err != nil {
			t.Error(err)
		}
	case 4: // a set without id stops it
		set := slices.DeleteFunc(lifecycleCampaigns(time.Minute, 0), func(c rule.Campaign) bool { return c.ID == id })
		if err := e.Apply(ctx, set, connector.StopOthers(), connector.KeepStopped()); err != nil {
			t.Error(err)
		}
	}
}

// ticking runs a goroutine per engine that ticks it until nothing is due
// each time it is kicked.
type ticking struct {
	kicks [2]chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
	ticks atomic.Int64
}

// startTicking starts the tickers of engines.
func startTicking(t *testing.T, engines [2]*connector.Engine) *ticking {
	ctx := context.Background()
	tk := &ticking{done: make(chan struct{})}
	for i, e := range engines {
		tk.kicks[i] = make(chan struct{}, 1)
		tk.wg.Go(func() {
			for {
				select {
				case <-tk.done:
					return
				case <-tk.kicks[i]:
				}
				for {
					n, err := e.Tick(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					tk.ticks.Add(1)
					if n == 0 {
						break
					}
				}
			}
		})
	}
	return tk
}

// kick makes every ticker tick (again) soon.
func (tk *ticking) kick() {
	for _, k := range tk.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// stop ends the tickers, waits for them, and returns how many ticks they
// made.
func (tk *ticking) stop() int64 {
	close(tk.done)
	tk.wg.Wait()
	return tk.ticks.Load()
}

// settle moves the clock until whatever is left has fallen due and been
// ticked, retries included (a rate limit lets one delivery of f2 go a
// minute), and checks that nothing stays pending.
func settle(t *testing.T, clk *clock.Mock, engines [2]*connector.Engine, users int) {
	ctx := context.Background()
	var st store.Stats
	for round := range 10 + 4*users {
		step := 2 * time.Hour
		if round >= 10 {
			step = time.Minute
		}
		clk.Add(step)
		for _, e := range engines {
			for {
				n, err := e.Tick(ctx)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
		}
		var err error
		st, err = engines[0].Stats(ctx)
		require.NoError(t, err)
		if round >= 10 && st.Pending == 0 {
			break
		}
	}
	require.Zero(t, st.Pending, "nothing stays pending")
}

// checkOutcomes checks that every scheduling of a delivery has exactly one
// outcome, that the sender accepted each delivery as many times as it was
// delivered, and nothing never scheduled; oncePerTrigger, that it
// accepted each trigger at most once per user and follow-up (no trigger
// came back after its dedup window).
func checkOutcomes(t *testing.T, send *flakySender, o *lifecycleOutcomes, oncePerTrigger bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	send.mu.Lock()
	defer send.mu.Unlock()
	if oncePerTrigger {
		for key, n := range send.byEvent {
			require.Equal(t, 1, n, "%s accepted %d times", key, n)
		}
	}
	for id, n := range o.scheduled {
		got := o.outcome[id]
		require.Len(t, got, n, "delivery %s scheduled %d times: outcomes %v, accepted %d", id, n, got, send.accepted[id])
		delivered := 0
		for _, k := range got {
			if k == rule.Delivered {
				delivered++
			}
		}
		require.Equal(t, send.accepted[id], delivered, "delivery %s: outcomes %v", id, got)
	}
	for id := range send.accepted {
		require.NotZero(t, o.scheduled[id], "accepted %s, never scheduled", id)
	}
}
